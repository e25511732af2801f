-- The delivery outbox: one row per message a notification owes one person on
-- one channel, written in the notifying use case's transaction. Its id is the
-- message's stable identity (the e-mail Message-ID), so a retry after a crash
-- is recognisably the same message. Workers claim due rows with
-- FOR UPDATE SKIP LOCKED; a claimed row is `sending` until its lease runs out
-- (kept in next_attempt_at); a worker that dies leaves it to be claimed again
-- then, with the same id (at-least-once).

CREATE TABLE deliveries (
    org_id          uuid NOT NULL,
    id              uuid NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('email')),
    recipient_id    uuid NOT NULL,
    notification_id uuid NOT NULL,
    kind            text NOT NULL,
    session_id      uuid,
    state           text NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'suppressed')),
    attempts        bigint NOT NULL CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, recipient_id) REFERENCES people (org_id, id),
    FOREIGN KEY (org_id, notification_id) REFERENCES notifications (org_id, id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state IN ('pending', 'sending');
CREATE INDEX deliveries_by_session ON deliveries (org_id, session_id, recipient_id);
CREATE INDEX deliveries_by_state ON deliveries (org_id, state, created_at);

-- A person's choices, per account (they follow the person across
-- organisations): a row only where a choice differs from the default.
CREATE TABLE notification_preferences (
    account_id uuid NOT NULL REFERENCES accounts (id),
    kind       text NOT NULL,
    channel    text NOT NULL CHECK (channel IN ('email')),
    enabled    boolean NOT NULL,
    PRIMARY KEY (account_id, kind, channel)
);

CREATE TABLE notification_settings (
    account_id uuid PRIMARY KEY REFERENCES accounts (id),
    -- The zone messages give times in; the session's zone when unset.
    timezone   text,
    updated_at timestamptz NOT NULL
);
