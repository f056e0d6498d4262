-- No rollback by replay (issue 10): the highest bundle sequence that served, shared by every
-- replica. A bundle below it is refused unless an admin allowed its digest (allow_digest).
CREATE TABLE policy_floor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sequence BIGINT NOT NULL,
    digest TEXT NOT NULL,
    revision TEXT NOT NULL,
    at BIGINT NOT NULL,
    allow_digest TEXT NOT NULL DEFAULT ''
);
INSERT INTO policy_floor (id, sequence, digest, revision, at, allow_digest) VALUES (1, 0, '', '', 0, '');
