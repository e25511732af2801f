-- Calendar subscription feeds: each account may hold secret feed links. Only
-- a hash of each link's token is kept; rotating one replaces the hash (the old
-- link stops working at once), revoking it ends it. A feed is global like its
-- account: it covers the person in every organisation they belong to.
CREATE TABLE calendar_feeds (
    id              uuid PRIMARY KEY,
    account_id      uuid NOT NULL REFERENCES accounts (id),
    token_hash      bytea NOT NULL UNIQUE,
    -- full: session titles and places; limited: only Busy or Group session.
    privacy         text NOT NULL CHECK (privacy IN ('full', 'limited')),
    created_at      timestamptz NOT NULL,
    rotated_at      timestamptz,
    revoked_at      timestamptz,
    last_fetched_at timestamptz
);
CREATE INDEX calendar_feeds_by_account ON calendar_feeds (account_id);

-- Webhook endpoints an organisation's admins register. The signing secret
-- must be kept usable (HMAC needs it), so it is stored, not hashed; the one
-- before a rotation keeps signing until previous_secret_until.
CREATE TABLE webhook_endpoints (
    org_id                uuid NOT NULL REFERENCES organisations (id),
    id                    uuid NOT NULL,
    url                   text NOT NULL,
    description           text NOT NULL,
    -- Notification kinds, space separated.
    event_types           text NOT NULL,
    secret                text NOT NULL,
    previous_secret       text,
    previous_secret_until timestamptz,
    -- Since when every call failed; NULL after a success.
    failing_since         timestamptz,
    disabled_at           timestamptz,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- One event owed to one endpoint; its id is the webhook-id header, the same
-- on every attempt and on a redelivery.
CREATE TABLE webhook_messages (
    org_id          uuid NOT NULL,
    id              uuid NOT NULL,
    endpoint_id     uuid NOT NULL,
    event_type      text NOT NULL,
    payload         text NOT NULL,
    state           text NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'suppressed')),
    attempts        bigint NOT NULL CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    response_status bigint,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, endpoint_id) REFERENCES webhook_endpoints (org_id, id)
);
CREATE INDEX webhook_messages_due ON webhook_messages (next_attempt_at) WHERE state IN ('pending', 'sending');
CREATE INDEX webhook_messages_by_endpoint ON webhook_messages (org_id, endpoint_id, created_at);
