-- Approval requests, reviews and one-time capabilities (issue 3).
-- Times are Unix milliseconds (INTEGER); JSON documents are TEXT.

CREATE TABLE approvals (
    id              TEXT    NOT NULL PRIMARY KEY,
    decision_id     TEXT    NOT NULL,
    subject_id      TEXT    NOT NULL,
    request_id      TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    request         TEXT    NOT NULL,
    request_hash    TEXT    NOT NULL,
    requirements    TEXT    NOT NULL,
    bundle_revision TEXT    NOT NULL,
    state           TEXT    NOT NULL
        CHECK (state IN ('pending', 'approved', 'denied', 'expired', 'cancelled')),
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;

-- Idempotency: one approval per (subject, client request id); an empty key opts out.
CREATE UNIQUE INDEX approvals_idempotency ON approvals (subject_id, request_id)
    WHERE request_id <> '';
-- The sweeper's scan and the state filter.
CREATE INDEX approvals_state_expiry ON approvals (state, expires_at);
CREATE INDEX approvals_subject ON approvals (subject_id, id);
CREATE INDEX approvals_action ON approvals (action, id);

CREATE TABLE reviews (
    approval_id TEXT    NOT NULL REFERENCES approvals (id),
    reviewer_id TEXT    NOT NULL,
    verdict     TEXT    NOT NULL CHECK (verdict IN ('approve', 'deny', 'modify')),
    reason      TEXT    NOT NULL,
    reviewer_groups TEXT NOT NULL,
    reviewed_at INTEGER NOT NULL,
    -- One reviewer counts once per approval.
    PRIMARY KEY (approval_id, reviewer_id)
) STRICT;
CREATE INDEX reviews_reviewer ON reviews (reviewer_id, approval_id);

CREATE TABLE capabilities (
    id           TEXT    NOT NULL PRIMARY KEY,
    approval_id  TEXT    REFERENCES approvals (id),
    request_hash TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('issued', 'redeemed', 'expired', 'revoked')),
    issued_at    INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    redeemed_at  INTEGER
) STRICT;
CREATE INDEX capabilities_state_expiry ON capabilities (state, expires_at);
