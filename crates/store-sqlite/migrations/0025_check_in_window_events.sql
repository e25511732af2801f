-- Live events for check-in windows opening and closing. One row per
-- check-in, session and edge, written in the transaction that records the
-- event: a server whose insert finds the row already there sends nothing,
-- so each event goes out once however many servers run the job.
CREATE TABLE check_in_window_events (
    org_id      TEXT NOT NULL REFERENCES organisations (id),
    check_in_id TEXT NOT NULL,
    session_id  TEXT NOT NULL,
    edge        TEXT NOT NULL CHECK (edge IN ('OPENED', 'CLOSED')),
    sent_at     INTEGER NOT NULL,
    PRIMARY KEY (org_id, check_in_id, session_id, edge)
) STRICT;
