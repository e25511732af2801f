-- The live event log. Each organisation numbers its events (seq) in commit
-- order: the writing transaction takes the next number by updating its
-- organisation's row in event_heads, whose row lock makes a later writer
-- wait for the earlier one to commit. A listener that has seen seq n has
-- therefore seen everything before it, and resumes after n.
--
-- Who may see an event is resolved to people when it is written
-- (event_recipients); payloads carry ids and times only.

CREATE TABLE event_heads (
    org_id   uuid NOT NULL REFERENCES organisations (id),
    last_seq bigint NOT NULL,
    PRIMARY KEY (org_id)
);

CREATE TABLE events (
    org_id     uuid NOT NULL,
    seq        bigint NOT NULL,
    kind       text NOT NULL,
    session_id uuid,
    payload    text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, seq)
);

CREATE INDEX events_by_age ON events (created_at);

CREATE TABLE event_recipients (
    org_id    uuid NOT NULL,
    person_id uuid NOT NULL,
    seq       bigint NOT NULL,
    PRIMARY KEY (org_id, person_id, seq)
);

CREATE INDEX event_recipients_by_seq ON event_recipients (org_id, seq);

-- Every server LISTENs on circles_events; the notification carries only
-- the organisation and the new head (no PHI, far below the payload limit)
-- and is delivered when the writing transaction commits.
CREATE FUNCTION circles_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('circles_events', NEW.org_id::text || ':' || NEW.last_seq::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER event_heads_notify AFTER INSERT OR UPDATE ON event_heads
    FOR EACH ROW EXECUTE FUNCTION circles_events_notify();

-- Members present in a running session: checked in by themselves,
-- confirmed by staff into attendance (the seat then reads ATTENDED).
CREATE TABLE session_presence (
    org_id        uuid NOT NULL,
    session_id    uuid NOT NULL,
    person_id     uuid NOT NULL,
    checked_in_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, session_id, person_id)
);
