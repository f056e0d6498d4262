-- The audit trail (issue 4): one hash-chained, append-only log for every decision and every
-- approval, capability and bundle event. Times are Unix milliseconds.
--
-- seq is 1, 2, 3, ... with no gaps: it is assigned from audit_head under the write lock, in
-- the same transaction as the rows, so a rolled-back append leaves no hole. The columns are
-- copies of fields of `body` (the canonical JSON that is hashed) kept for indexing; the
-- verifier checks that they still match it.

CREATE TABLE audit_log (
    seq             INTEGER NOT NULL PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    at              INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    actor           TEXT    NOT NULL,
    subject_id      TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    resource_type   TEXT    NOT NULL,
    resource_id     TEXT    NOT NULL,
    effect          TEXT    NOT NULL,
    decision_id     TEXT    NOT NULL,
    approval_id     TEXT    NOT NULL,
    capability_id   TEXT    NOT NULL,
    bundle_revision TEXT    NOT NULL,
    trace_id        TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    prev_hash       TEXT    NOT NULL,
    hash            TEXT    NOT NULL
) STRICT;
CREATE INDEX audit_subject ON audit_log (subject_id, seq);
CREATE INDEX audit_action ON audit_log (action, seq);
CREATE INDEX audit_resource ON audit_log (resource_type, resource_id, seq);
CREATE INDEX audit_decision ON audit_log (decision_id);
CREATE INDEX audit_approval ON audit_log (approval_id);
CREATE INDEX audit_at ON audit_log (at);

-- The chain's head: the last seq and its hash. Every append locks and advances it.
CREATE TABLE audit_head (
    id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT    NOT NULL
) STRICT;
INSERT INTO audit_head (id, seq, hash)
    VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Signed checkpoints: PASETO v4.public over {"seq","head","at"} with the audit key.
CREATE TABLE audit_checkpoints (
    seq       INTEGER NOT NULL PRIMARY KEY,
    head_hash TEXT    NOT NULL,
    at        INTEGER NOT NULL,
    token     TEXT    NOT NULL
) STRICT;

-- The W3C traceparent of the decision that created an approval, so its lifecycle events
-- link back to that trace.
ALTER TABLE approvals ADD COLUMN trace_parent TEXT NOT NULL DEFAULT '';
