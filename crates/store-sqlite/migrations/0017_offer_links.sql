-- One-time links that answer a waitlist offer without signing in. Only a
-- SHA-256 hash of each link token is kept; a link works until it is used
-- or its offer closes, and never after the offer would expire.
ALTER TABLE notifications ADD COLUMN offer_id TEXT;

CREATE TABLE offer_links (
    org_id     TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    offer_id   TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, token_hash),
    FOREIGN KEY (org_id, offer_id) REFERENCES waitlist_offers (org_id, id)
) STRICT;
CREATE INDEX offer_links_by_offer ON offer_links (org_id, offer_id);
