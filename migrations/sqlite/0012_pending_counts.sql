-- The pending quota counted a subject's pending, unexpired approvals on every creation: an
-- index range scan as long as the subject's queue (0008), inside the single write transaction.
-- One subject with 13,000 pending approvals spent 40% of the server's CPU counting them.
--
-- pending_counts holds, per subject, how many of its approvals are in state 'pending'
-- (deadline passed or not). The triggers below keep it in the same transaction as every row
-- change that moves an approval into or out of 'pending', whichever statement makes it, so no
-- code path can forget it. The quota subtracts the subject's pending approvals already past
-- their deadline but not yet swept (`sql::COUNT_PENDING_OF`): a range scan over only
-- those, which the sweeper keeps short.
CREATE TABLE pending_counts (
    subject_id TEXT    NOT NULL PRIMARY KEY,
    n          INTEGER NOT NULL CHECK (n >= 0)
) STRICT, WITHOUT ROWID;

INSERT INTO pending_counts (subject_id, n)
    SELECT subject_id, COUNT(*) FROM approvals WHERE state = 'pending' GROUP BY subject_id;

CREATE TRIGGER approvals_pending_inserted AFTER INSERT ON approvals
    WHEN NEW.state = 'pending'
BEGIN
    INSERT INTO pending_counts (subject_id, n) VALUES (NEW.subject_id, 1)
        ON CONFLICT (subject_id) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER approvals_pending_left AFTER UPDATE OF state, subject_id ON approvals
    WHEN OLD.state = 'pending'
BEGIN
    UPDATE pending_counts SET n = n - 1 WHERE subject_id = OLD.subject_id;
END;

CREATE TRIGGER approvals_pending_entered AFTER UPDATE OF state, subject_id ON approvals
    WHEN NEW.state = 'pending'
BEGIN
    INSERT INTO pending_counts (subject_id, n) VALUES (NEW.subject_id, 1)
        ON CONFLICT (subject_id) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER approvals_pending_deleted AFTER DELETE ON approvals
    WHEN OLD.state = 'pending'
BEGIN
    UPDATE pending_counts SET n = n - 1 WHERE subject_id = OLD.subject_id;
END;
