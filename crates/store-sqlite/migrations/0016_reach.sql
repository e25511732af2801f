-- Calendar subscription feeds: each account may hold secret feed links. Only
-- a hash of each link's token is kept; rotating one replaces the hash (the old
-- link stops working at once), revoking it ends it. A feed is global like its
-- account: it covers the person in every organisation they belong to.
CREATE TABLE calendar_feeds (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    token_hash      BLOB NOT NULL UNIQUE,
    -- full: session titles and places; limited: only Busy or Group session.
    privacy         TEXT NOT NULL CHECK (privacy IN ('full', 'limited')),
    created_at      INTEGER NOT NULL,
    rotated_at      INTEGER,
    revoked_at      INTEGER,
    last_fetched_at INTEGER
) STRICT;
CREATE INDEX calendar_feeds_by_account ON calendar_feeds (account_id);

-- Webhook endpoints an organisation's admins register. The signing secret
-- must be kept usable (HMAC needs it), so it is stored, not hashed; the one
-- before a rotation keeps signing until previous_secret_until.
CREATE TABLE webhook_endpoints (
    org_id                TEXT NOT NULL REFERENCES organisations (id),
    id                    TEXT NOT NULL,
    url                   TEXT NOT NULL,
    description           TEXT NOT NULL,
    -- Notification kinds, space separated.
    event_types           TEXT NOT NULL,
    secret                TEXT NOT NULL,
    previous_secret       TEXT,
    previous_secret_until INTEGER,
    -- Since when every call failed; NULL after a success.
    failing_since         INTEGER,
    disabled_at           INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    PRIMARY KEY (org_id, id)
) STRICT;

-- One event owed to one endpoint; its id is the webhook-id header, the same
-- on every attempt and on a redelivery.
CREATE TABLE webhook_messages (
    org_id          TEXT NOT NULL,
    id              TEXT NOT NULL,
    endpoint_id     TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'suppressed')),
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    response_status INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, endpoint_id) REFERENCES webhook_endpoints (org_id, id)
) STRICT;
CREATE INDEX webhook_messages_due ON webhook_messages (state, next_attempt_at);
CREATE INDEX webhook_messages_by_endpoint ON webhook_messages (org_id, endpoint_id, created_at);
