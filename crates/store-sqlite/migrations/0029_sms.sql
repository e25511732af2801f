-- Text messages through an HTTP gateway, behind the same outbox as e-mail:
-- `sms` joins the channels a delivery and a person's choice may name, and a
-- person's account keeps the number texts go to (E.164, checked before it
-- is stored), beside the zone their messages use. SQLite cannot change a
-- CHECK in place, so both tables are rebuilt with their rows.
CREATE TABLE deliveries_sms (
    org_id          TEXT NOT NULL,
    id              TEXT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
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
INSERT INTO deliveries_sms SELECT org_id, id, channel, recipient_id, notification_id, kind, session_id, state,
    attempts, next_attempt_at, last_error, created_at, updated_at, sent_at FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_sms RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_by_session ON deliveries (org_id, session_id, recipient_id);
CREATE INDEX deliveries_by_state ON deliveries (org_id, state, created_at);

CREATE TABLE notification_preferences_sms (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    kind       TEXT NOT NULL,
    channel    TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    enabled    INTEGER NOT NULL,
    PRIMARY KEY (account_id, kind, channel)
) STRICT;
INSERT INTO notification_preferences_sms SELECT account_id, kind, channel, enabled FROM notification_preferences;
DROP TABLE notification_preferences;
ALTER TABLE notification_preferences_sms RENAME TO notification_preferences;

ALTER TABLE notification_settings ADD COLUMN phone TEXT;

-- An organisation's list of messages also reads the e-mail of its
-- invitations to join, found by organisation.
CREATE INDEX account_mail_by_org ON account_mail (invitation_org, created_at) WHERE invitation_org IS NOT NULL;
