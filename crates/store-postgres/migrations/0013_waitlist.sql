-- Waitlists: entries (who waits for what), openings (a seat or slot that
-- freed, recorded in the transaction that freed it and offered after a
-- grace delay), offers (an exclusive, expiring hold of an opening for one
-- client; its time is held through busy_intervals like any hold), and each
-- organisation's waitlist settings.

CREATE TABLE waitlist_settings (
    org_id     uuid NOT NULL REFERENCES organisations (id),
    settings   text NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (org_id)
);

CREATE TABLE waitlist_entries (
    org_id           uuid NOT NULL,
    id               uuid NOT NULL,
    client_id        uuid NOT NULL,
    target_kind      text NOT NULL CHECK (target_kind IN ('GROUP', 'GROUP_SESSION', 'ONE_ON_ONE')),
    target_key       text NOT NULL,
    group_id         uuid,
    session_id       uuid,
    therapist_id     uuid,
    modality         text CHECK (modality IS NULL OR modality IN ('VIRTUAL', 'IN_PERSON')),
    duration_minutes bigint,
    urgency          text NOT NULL CHECK (urgency IN ('LOW', 'MEDIUM', 'HIGH', 'URGENT')),
    preferred_therapist_id uuid,
    preferences      text NOT NULL,
    referral         boolean NOT NULL,
    notes            text,
    auto_match       boolean NOT NULL,
    status           text NOT NULL CHECK (status IN ('ACTIVE', 'OFFERED', 'MATCHED', 'CANCELLED', 'EXPIRED')),
    added_at         timestamptz NOT NULL,
    decline_count    bigint NOT NULL,
    offer_count      bigint NOT NULL,
    matched_session_id uuid,
    matched_at       timestamptz,
    pin_reason       text,
    pinned_by        uuid,
    pinned_at        timestamptz,
    created_by       uuid,
    updated_at       timestamptz NOT NULL,
    closed_at        timestamptz,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, client_id) REFERENCES people (org_id, id)
);
-- One waiting entry per client and target.
CREATE UNIQUE INDEX waitlist_entries_one_waiting ON waitlist_entries (org_id, client_id, target_key)
    WHERE status IN ('ACTIVE', 'OFFERED');
CREATE INDEX waitlist_entries_by_target ON waitlist_entries (org_id, target_key, status);
CREATE INDEX waitlist_entries_by_status ON waitlist_entries (org_id, status, added_at);

CREATE TABLE waitlist_openings (
    org_id       uuid NOT NULL,
    id           uuid NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('SEAT', 'SLOT')),
    session_id   uuid,
    group_id     uuid,
    therapist_id uuid,
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    timezone     text NOT NULL,
    modality     text,
    cause        text NOT NULL,
    status       text NOT NULL CHECK (status IN ('WAITING', 'OFFERING', 'FILLED', 'LAPSED')),
    hold_id      uuid NOT NULL,
    ready_at     timestamptz NOT NULL,
    created_at   timestamptz NOT NULL,
    closed_at    timestamptz,
    PRIMARY KEY (org_id, id),
    CHECK (ends_at > starts_at)
);
CREATE INDEX waitlist_openings_waiting ON waitlist_openings (status, ready_at);
CREATE INDEX waitlist_openings_by_session ON waitlist_openings (org_id, session_id, status);

CREATE TABLE waitlist_offers (
    org_id         uuid NOT NULL,
    id             uuid NOT NULL,
    entry_id       uuid NOT NULL,
    opening_id     uuid NOT NULL,
    client_id      uuid NOT NULL,
    hold_id        uuid NOT NULL,
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz NOT NULL,
    status         text NOT NULL CHECK (status IN ('LIVE', 'ACCEPTED', 'DECLINED', 'EXPIRED', 'WITHDRAWN')),
    expires_at     timestamptz NOT NULL,
    match_score    double precision NOT NULL,
    reasons        text NOT NULL,
    decline_reason text,
    session_id     uuid,
    created_by     uuid,
    created_at     timestamptz NOT NULL,
    answered_at    timestamptz,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, entry_id) REFERENCES waitlist_entries (org_id, id),
    FOREIGN KEY (org_id, opening_id) REFERENCES waitlist_openings (org_id, id),
    FOREIGN KEY (org_id, client_id) REFERENCES people (org_id, id)
);
CREATE INDEX waitlist_offers_live ON waitlist_offers (status, expires_at);
CREATE INDEX waitlist_offers_by_opening ON waitlist_offers (org_id, opening_id, status);
CREATE INDEX waitlist_offers_by_entry ON waitlist_offers (org_id, entry_id);
