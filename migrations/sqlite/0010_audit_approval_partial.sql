-- Most audit records belong to no approval (a decision answered ALLOW or DENY, a bundle
-- event): their approval_id is ''. Their entries in audit_approval served no query (nothing
-- looks up "the records of no approval") yet cost every such commit a page of that index.
-- The index now holds only the records of an approval. A query by approval states the same
-- literal term (`approval_id <> ''`), so both planners can prove the index covers it.
DROP INDEX audit_approval;
CREATE INDEX audit_approval ON audit_log (approval_id) WHERE approval_id <> '';
