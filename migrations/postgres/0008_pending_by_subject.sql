-- The per-subject pending quota counts a subject's pending, unexpired approvals on every
-- creation: an index on exactly those columns keeps that count an index-only range scan,
-- however many approvals (pending or decided) the store holds.
CREATE INDEX approvals_subject_pending ON approvals (subject_id, state, expires_at);
