-- A member who leaves on a later date stays ACTIVE until then: the status
-- they leave with waits here, and takes effect on the leave date (derived
-- when read; written by whichever roster change or job comes first).
ALTER TABLE group_memberships ADD COLUMN departs_as TEXT;

-- Attendance recorded long after a session is flagged on its seat, and an
-- organisation may refuse such entries.
ALTER TABLE seats ADD COLUMN late_entry INTEGER NOT NULL DEFAULT 0;
ALTER TABLE organisations ADD COLUMN refuse_late_attendance INTEGER NOT NULL DEFAULT 0;
