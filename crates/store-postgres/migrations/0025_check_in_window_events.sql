-- Live events for check-in windows opening and closing. One row per
-- check-in, session and edge, written in the transaction that records the
-- event: a server whose insert finds the row already there sends nothing,
-- so each event goes out once however many servers run the job.
CREATE TABLE check_in_window_events (
    org_id      uuid NOT NULL REFERENCES organisations (id),
    check_in_id uuid NOT NULL,
    session_id  uuid NOT NULL,
    edge        text NOT NULL CHECK (edge IN ('OPENED', 'CLOSED')),
    sent_at     timestamptz NOT NULL,
    PRIMARY KEY (org_id, check_in_id, session_id, edge)
);
