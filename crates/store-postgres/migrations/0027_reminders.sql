-- Reminders at offsets each organisation chooses (minutes before a session,
-- longest first, e.g. `1440,60`; NULL means the default the domain names).
-- session_reminders records each offset dealt with for a session: its
-- primary key is the claim, so however many servers run the reminder job,
-- an offset reminds a session's people once. It replaces
-- sessions.reminded_at, which is no longer written.
ALTER TABLE organisations ADD COLUMN reminder_offsets text;

CREATE TABLE session_reminders (
    org_id         uuid NOT NULL,
    session_id     uuid NOT NULL,
    offset_minutes integer NOT NULL CHECK (offset_minutes > 0),
    -- Whether people were reminded, or the offset had passed unsent (a
    -- session booked after it, reminded at a nearer one).
    reminded       boolean NOT NULL,
    recorded_at    timestamptz NOT NULL,
    PRIMARY KEY (org_id, session_id, offset_minutes),
    FOREIGN KEY (org_id, session_id) REFERENCES sessions (org_id, id)
);
