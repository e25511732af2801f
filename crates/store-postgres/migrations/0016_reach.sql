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
