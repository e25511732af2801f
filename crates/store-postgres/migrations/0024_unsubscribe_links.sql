-- One-click unsubscribe links (RFC 8058): each e-mail of a kind a person may
-- turn off carries a link that turns that kind's e-mail off for the person's
-- account. Only a SHA-256 hash of each link's token is kept. A link may be
-- used again (unsubscribing twice changes nothing), so it is never spent.
CREATE TABLE unsubscribe_links (
    token_hash bytea PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id),
    kind       text NOT NULL,
    created_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX unsubscribe_links_by_account ON unsubscribe_links (account_id);
