-- The delivery outbox: one row per message a notification owes one person on
-- one channel, written in the notifying use case's transaction. Its id is the
-- message's stable identity (the e-mail Message-ID), so a retry after a crash
-- is recognisably the same message. Workers claim due rows (one writer: no
-- two claim the same row); a claimed row is `sending` until its lease runs
-- out (kept in next_attempt_at); a worker that dies leaves it to be claimed
-- again then, with the same id (at-least-once).

CREATE TABLE deliveries (
    org_id          TEXT NOT NULL,
    id              TEXT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('email')),
    recipient_id    TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    kind            TEXT NOT NULL,
    session_id      TEXT,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'suppressed')),
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, recipient_id) REFERENCES people (org_id, id),
    FOREIGN KEY (org_id, notification_id) REFERENCES notifications (org_id, id)
) STRICT;
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_by_session ON deliveries (org_id, session_id, recipient_id);
CREATE INDEX deliveries_by_state ON deliveries (org_id, state, created_at);

-- A person's choices, per account (they follow the person across
-- organisations): a row only where a choice differs from the default.
CREATE TABLE notification_preferences (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    kind       TEXT NOT NULL,
    channel    TEXT NOT NULL CHECK (channel IN ('email')),
    enabled    INTEGER NOT NULL,
    PRIMARY KEY (account_id, kind, channel)
) STRICT;

CREATE TABLE notification_settings (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    -- The zone messages give times in; the session's zone when unset.
    timezone   TEXT,
    updated_at INTEGER NOT NULL
) STRICT;
