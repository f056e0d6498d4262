-- The audit query's columns move to a table of their own, indexed there and filled in
-- batches (as on SQLite, whose commits it made smaller). Every index of audit_log was six
-- index inserts per record, and WAL for each, all under the head's lock, which every append
-- across replicas waits for. audit_index is filled by the append that
-- takes the log past a multiple of 64 records (`audit_ops::index_due`), in the same
-- transaction, with every record not yet in it: one page per index for 64 records. Appends
-- hold the head's row lock to their commit, so one fill runs at a time across replicas and
-- sees every record committed before it.
--
-- It always holds exactly the records 1..max(seq) (it is only ever filled from its end, in
-- seq order), with every column a query filters on (effect and kind unindexed), so a query
-- finds its page of seqs here alone and reads only those records from audit_log. It reads the
-- rest, at most a batch, from audit_log directly (`audit_ops::query_statement`), so it misses
-- nothing committed. The verifier checks that
-- every row agrees with its record and that none is missing or extra (`index_fault`).
CREATE TABLE audit_index (
    seq           BIGINT NOT NULL PRIMARY KEY,
    at            BIGINT NOT NULL,
    subject_id    TEXT COLLATE "C" NOT NULL,
    action        TEXT COLLATE "C" NOT NULL,
    resource_type TEXT COLLATE "C" NOT NULL,
    resource_id   TEXT COLLATE "C" NOT NULL,
    decision_id   TEXT COLLATE "C" NOT NULL,
    approval_id   TEXT COLLATE "C" NOT NULL,
    effect        TEXT   NOT NULL,
    kind          TEXT   NOT NULL
);
INSERT INTO audit_index
    (seq, at, subject_id, action, resource_type, resource_id, decision_id, approval_id, effect, kind)
    SELECT seq, at, subject_id, action, resource_type, resource_id, decision_id, approval_id,
           effect, kind
    FROM audit_log ORDER BY seq;

DROP INDEX audit_subject;
DROP INDEX audit_action;
DROP INDEX audit_resource;
DROP INDEX audit_decision;
DROP INDEX audit_approval;
DROP INDEX audit_at;
CREATE INDEX audit_subject ON audit_index (subject_id, seq);
CREATE INDEX audit_action ON audit_index (action, seq);
CREATE INDEX audit_resource ON audit_index (resource_type, resource_id, seq);
CREATE INDEX audit_decision ON audit_index (decision_id);
CREATE INDEX audit_approval ON audit_index (approval_id) WHERE approval_id <> '';
CREATE INDEX audit_at ON audit_index (at);
