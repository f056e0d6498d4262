-- A review's lock, insert and read in one round trip (issue 11). A review locked its approval
-- while pending and in time in one statement, then inserted itself and read every review of
-- the approval in a second: the read had to be as of after the lock (a review committed by the
-- transaction it waited for must count toward the quorum), and one statement reads as of its
-- start. Each statement inside a volatile function reads as of its own start instead, so this
-- function locks the row, inserts, then reads as of after both; the group commit calls it for
-- every review (`sql::PG_REVIEW_IF_PENDING`). No rows: the approval is not pending or not in
-- time at `p_at` (nothing inserted, nothing locked). Otherwise every review of the approval,
-- oldest first, `added` marking the one this call inserted; none is marked when the reviewer
-- had already reviewed. The lock is the same row lock (`FOR NO KEY UPDATE`) held to the
-- transaction's end, in the same place of the lock order (the approval's row), so a replica
-- still on the two statements and one calling this serialize on it alike. `search_path` is
-- fixed to the schema it is created in, so a caller's path cannot point `approvals` or
-- `reviews` elsewhere.
CREATE FUNCTION tollgate_review_if_pending(
    p_approval TEXT, p_reviewer TEXT, p_verdict TEXT, p_reason TEXT, p_groups JSONB,
    p_at BIGINT, p_stepped_up BOOLEAN)
    RETURNS TABLE (approval_id TEXT, reviewer_id TEXT, verdict TEXT, reason TEXT,
                   reviewer_groups JSONB, reviewed_at BIGINT, stepped_up BOOLEAN,
                   added BOOLEAN)
    LANGUAGE plpgsql VOLATILE
    SET search_path FROM CURRENT
AS $$
#variable_conflict use_column
DECLARE
    inserted BIGINT;
BEGIN
    PERFORM 1 FROM approvals a
        WHERE a.id = p_approval AND a.state = 'pending' AND a.expires_at > p_at
        FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    INSERT INTO reviews (approval_id, reviewer_id, verdict, reason, reviewer_groups,
                         reviewed_at, stepped_up)
        VALUES (p_approval, p_reviewer, p_verdict, p_reason, p_groups, p_at, p_stepped_up)
        ON CONFLICT (approval_id, reviewer_id) DO NOTHING;
    GET DIAGNOSTICS inserted = ROW_COUNT;
    RETURN QUERY
        SELECT r.approval_id::TEXT, r.reviewer_id, r.verdict, r.reason, r.reviewer_groups,
               r.reviewed_at, r.stepped_up, inserted = 1 AND r.reviewer_id = p_reviewer
          FROM reviews r
         WHERE r.approval_id = p_approval
         ORDER BY r.reviewed_at, r.reviewer_id;
END
$$;
