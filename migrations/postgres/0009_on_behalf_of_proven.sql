-- Whether the requester's credentials proved the request's on_behalf_of human (RFC 8693
-- `act`), as the decision recorded it: only then may that human read the request as a party.
-- Approvals from before this column existed count as claimed (fail closed).
ALTER TABLE approvals ADD COLUMN on_behalf_of_proven BOOLEAN NOT NULL DEFAULT FALSE;
