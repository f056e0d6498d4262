-- The pending quota's lock and count in one round trip (issue 11). A creation under the quota
-- took the subject's advisory lock in a statement of its own, then counted and inserted in
-- the next: the count had to read as of after the lock, and one statement reads as of its
-- start. Each statement inside a volatile function reads as of its own start instead, so this
-- function takes the lock, then counts as of after it; the creation's statement calls it
-- first (`sql::COUNT_THEN_INSERT_APPROVAL`). The lock is the same advisory lock, in the same
-- key class (`tlgt`), held to the transaction's end: a replica still on the two statements and
-- one calling this serialize on it alike. `search_path` is fixed to the schema it is created
-- in, so a caller's path cannot point `approvals` elsewhere.
CREATE FUNCTION tollgate_lock_and_count_pending(p_subject TEXT, p_now BIGINT) RETURNS BIGINT
    LANGUAGE plpgsql VOLATILE
    SET search_path FROM CURRENT
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1953261428, hashtext(p_subject));
    RETURN (SELECT count(*) FROM approvals
            WHERE subject_id = p_subject AND state = 'pending' AND expires_at > p_now);
END
$$;
