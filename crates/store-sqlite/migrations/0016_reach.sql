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
