-- The live event log. Each organisation numbers its events (seq) in commit
-- order (the one writer takes the next number from event_heads). Who may
-- see an event is resolved to people when it is written
-- (event_recipients); payloads carry ids and times only.

CREATE TABLE event_heads (
    org_id   TEXT NOT NULL REFERENCES organisations (id),
    last_seq INTEGER NOT NULL,
    PRIMARY KEY (org_id)
) STRICT;

CREATE TABLE events (
    org_id     TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    session_id TEXT,
    payload    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, seq)
) STRICT;

CREATE INDEX events_by_age ON events (created_at);

CREATE TABLE event_recipients (
    org_id    TEXT NOT NULL,
    person_id TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    PRIMARY KEY (org_id, person_id, seq)
) STRICT;

CREATE INDEX event_recipients_by_seq ON event_recipients (org_id, seq);

-- Members present in a running session: checked in by themselves,
-- confirmed by staff into attendance (the seat then reads ATTENDED).
CREATE TABLE session_presence (
    org_id        TEXT NOT NULL,
    session_id    TEXT NOT NULL,
    person_id     TEXT NOT NULL,
    checked_in_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, session_id, person_id)
) STRICT;
