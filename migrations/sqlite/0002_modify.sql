-- A reviewer may narrow a pending request (issue 3, modify): the request as first asked is
-- kept here, so the requester sees exactly what changed.
ALTER TABLE approvals ADD COLUMN original_request TEXT;
