-- Capabilities bind everything the decision saw, the bundle that decided and the approval
-- (issue 10): an approval keeps the digest of the bundle that asked for it.
ALTER TABLE approvals ADD COLUMN bundle_digest TEXT NOT NULL DEFAULT '';
