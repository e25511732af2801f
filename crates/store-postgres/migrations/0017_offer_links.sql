-- One-time links that answer a waitlist offer without signing in. Only a
-- SHA-256 hash of each link token is kept; a link works until it is used
-- or its offer closes, and never after the offer would expire.
ALTER TABLE notifications ADD COLUMN offer_id uuid;

CREATE TABLE offer_links (
    org_id     uuid NOT NULL,
    token_hash text NOT NULL,
    offer_id   uuid NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, token_hash),
    FOREIGN KEY (org_id, offer_id) REFERENCES waitlist_offers (org_id, id)
);
CREATE INDEX offer_links_by_offer ON offer_links (org_id, offer_id);
