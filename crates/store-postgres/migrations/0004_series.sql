-- Recurring groups generate one session per occurrence. The current series of
-- a group is named on the group; an occurrence is generated at most once
-- (its recurrence id is the occurrence's nominal local start).

ALTER TABLE groups ADD COLUMN series_id uuid;
CREATE UNIQUE INDEX sessions_one_per_occurrence ON sessions (org_id, group_id, recurrence_id)
    WHERE group_id IS NOT NULL AND recurrence_id IS NOT NULL;
