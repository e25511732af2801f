-- A matching pass reads a group's waiting entries once and shares them
-- across the seats it offers; before each seat it asks whether the list
-- changed (how many wait, the latest change among them). This index answers
-- that from the index alone: the count over one target's waiting entries
-- and their latest `updated_at` at its end.
DROP INDEX waitlist_entries_by_target;
CREATE INDEX waitlist_entries_by_target ON waitlist_entries (org_id, target_key, status, updated_at);
