-- Waitlists: entries (who waits for what), openings (a seat or slot that
-- freed, recorded in the transaction that freed it and offered after a
-- grace delay), offers (an exclusive, expiring hold of an opening for one
-- client; its time is held through busy_intervals like any hold), and each
-- organisation's waitlist settings.

CREATE TABLE waitlist_settings (
    org_id     TEXT NOT NULL REFERENCES organisations (id),
    settings   TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (org_id)
) STRICT;

CREATE TABLE waitlist_entries (
    org_id           TEXT NOT NULL,
    id               TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    target_kind      TEXT NOT NULL CHECK (target_kind IN ('GROUP', 'GROUP_SESSION', 'ONE_ON_ONE')),
    target_key       TEXT NOT NULL,
    group_id         TEXT,
    session_id       TEXT,
    therapist_id     TEXT,
    modality         TEXT CHECK (modality IS NULL OR modality IN ('VIRTUAL', 'IN_PERSON')),
    duration_minutes INTEGER,
    urgency          TEXT NOT NULL CHECK (urgency IN ('LOW', 'MEDIUM', 'HIGH', 'URGENT')),
    preferred_therapist_id TEXT,
    preferences      TEXT NOT NULL,
    referral         INTEGER NOT NULL,
    notes            TEXT,
    auto_match       INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('ACTIVE', 'OFFERED', 'MATCHED', 'CANCELLED', 'EXPIRED')),
    added_at         INTEGER NOT NULL,
    decline_count    INTEGER NOT NULL,
    offer_count      INTEGER NOT NULL,
    matched_session_id TEXT,
    matched_at       INTEGER,
    pin_reason       TEXT,
    pinned_by        TEXT,
    pinned_at        INTEGER,
    created_by       TEXT,
    updated_at       INTEGER NOT NULL,
    closed_at        INTEGER,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, client_id) REFERENCES people (org_id, id)
) STRICT;
-- One waiting entry per client and target.
CREATE UNIQUE INDEX waitlist_entries_one_waiting ON waitlist_entries (org_id, client_id, target_key)
    WHERE status IN ('ACTIVE', 'OFFERED');
CREATE INDEX waitlist_entries_by_target ON waitlist_entries (org_id, target_key, status);
CREATE INDEX waitlist_entries_by_status ON waitlist_entries (org_id, status, added_at);

CREATE TABLE waitlist_openings (
    org_id       TEXT NOT NULL,
    id           TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('SEAT', 'SLOT')),
    session_id   TEXT,
    group_id     TEXT,
    therapist_id TEXT,
    starts_at    INTEGER NOT NULL,
    ends_at      INTEGER NOT NULL,
    timezone     TEXT NOT NULL,
    modality     TEXT,
    cause        TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('WAITING', 'OFFERING', 'FILLED', 'LAPSED')),
    hold_id      TEXT NOT NULL,
    ready_at     INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    closed_at    INTEGER,
    PRIMARY KEY (org_id, id),
    CHECK (ends_at > starts_at)
) STRICT;
CREATE INDEX waitlist_openings_waiting ON waitlist_openings (status, ready_at);
CREATE INDEX waitlist_openings_by_session ON waitlist_openings (org_id, session_id, status);

CREATE TABLE waitlist_offers (
    org_id         TEXT NOT NULL,
    id             TEXT NOT NULL,
    entry_id       TEXT NOT NULL,
    opening_id     TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    hold_id        TEXT NOT NULL,
    starts_at      INTEGER NOT NULL,
    ends_at        INTEGER NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('LIVE', 'ACCEPTED', 'DECLINED', 'EXPIRED', 'WITHDRAWN')),
    expires_at     INTEGER NOT NULL,
    match_score    REAL NOT NULL,
    reasons        TEXT NOT NULL,
    decline_reason TEXT,
    session_id     TEXT,
    created_by     TEXT,
    created_at     INTEGER NOT NULL,
    answered_at    INTEGER,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, entry_id) REFERENCES waitlist_entries (org_id, id),
    FOREIGN KEY (org_id, opening_id) REFERENCES waitlist_openings (org_id, id),
    FOREIGN KEY (org_id, client_id) REFERENCES people (org_id, id)
) STRICT;
CREATE INDEX waitlist_offers_live ON waitlist_offers (status, expires_at);
CREATE INDEX waitlist_offers_by_opening ON waitlist_offers (org_id, opening_id, status);
CREATE INDEX waitlist_offers_by_entry ON waitlist_offers (org_id, entry_id);
