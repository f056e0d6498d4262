-- Verified identity (issue 9): who asked for an approval (the requester or its gateway, a
-- party that may read it), who may redeem the capability it mints, whether a review was made
-- with a fresh strong authentication (step-up), and each capability's audience.
ALTER TABLE approvals ADD COLUMN requested_by TEXT NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN capability_audience JSONB NOT NULL DEFAULT '[]';
ALTER TABLE reviews ADD COLUMN stepped_up BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE capabilities ADD COLUMN audience JSONB NOT NULL DEFAULT '[]';
CREATE INDEX approvals_requested_by ON approvals (requested_by, id);
