-- A member who leaves on a later date stays ACTIVE until then: the status
-- they leave with waits here, and takes effect on the leave date (derived
-- when read; written by whichever roster change or job comes first).
ALTER TABLE group_memberships ADD COLUMN departs_as TEXT;
