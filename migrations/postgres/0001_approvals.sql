-- Approval requests, reviews and one-time capabilities (issue 3).
-- Times are Unix milliseconds (BIGINT); JSON documents are JSONB. Ids use the "C" collation so
-- the pagination cursor orders bytewise, as in SQLite.

CREATE TABLE approvals (
    id              TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    decision_id     TEXT   NOT NULL,
    subject_id      TEXT   NOT NULL,
    request_id      TEXT   NOT NULL,
    action          TEXT   NOT NULL,
    request         JSONB  NOT NULL,
    request_hash    TEXT   NOT NULL,
    requirements    JSONB  NOT NULL,
    bundle_revision TEXT   NOT NULL,
    state           TEXT   NOT NULL
        CHECK (state IN ('pending', 'approved', 'denied', 'expired', 'cancelled')),
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- Idempotency: one approval per (subject, client request id); an empty key opts out.
CREATE UNIQUE INDEX approvals_idempotency ON approvals (subject_id, request_id)
    WHERE request_id <> '';
-- The sweeper's scan and the state filter.
CREATE INDEX approvals_state_expiry ON approvals (state, expires_at);
CREATE INDEX approvals_subject ON approvals (subject_id, id);
CREATE INDEX approvals_action ON approvals (action, id);

CREATE TABLE reviews (
    approval_id TEXT COLLATE "C" NOT NULL REFERENCES approvals (id),
    reviewer_id TEXT   NOT NULL,
    verdict     TEXT   NOT NULL CHECK (verdict IN ('approve', 'deny', 'modify')),
    reason      TEXT   NOT NULL,
    reviewer_groups JSONB NOT NULL,
    reviewed_at BIGINT NOT NULL,
    -- One reviewer counts once per approval.
    PRIMARY KEY (approval_id, reviewer_id)
);
CREATE INDEX reviews_reviewer ON reviews (reviewer_id, approval_id);

CREATE TABLE capabilities (
    id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    approval_id  TEXT COLLATE "C" REFERENCES approvals (id),
    request_hash TEXT   NOT NULL,
    state        TEXT   NOT NULL CHECK (state IN ('issued', 'redeemed', 'expired', 'revoked')),
    issued_at    BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    redeemed_at  BIGINT
);
CREATE INDEX capabilities_state_expiry ON capabilities (state, expires_at);
