-- Sessions, therapist assignments, seats, holds, and the busy intervals that
-- make double booking impossible: the exclusion constraint on
-- busy_intervals refuses two overlapping rows for one person, whatever
-- order concurrent transactions commit in.

CREATE TABLE sessions (
    org_id        uuid NOT NULL REFERENCES organisations (id),
    id            uuid NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('one_on_one', 'group', 'instant')),
    status        text NOT NULL CHECK (status IN ('proposed', 'scheduled', 'in_progress', 'completed', 'cancelled')),
    title         text NOT NULL,
    description   text NOT NULL,
    modality      text NOT NULL CHECK (modality IN ('VIRTUAL', 'IN_PERSON')),
    virtual_link  text,
    location      text,
    address       text,
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz NOT NULL,
    timezone      text NOT NULL,
    capacity      bigint NOT NULL CHECK (capacity >= 1),
    group_id      uuid,
    series_id     uuid,
    recurrence_id text,
    created_by    uuid,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    cancelled_at  timestamptz,
    cancel_reason text,
    PRIMARY KEY (org_id, id),
    CHECK (ends_at > starts_at)
);
CREATE INDEX sessions_by_start ON sessions (org_id, starts_at);
CREATE INDEX sessions_by_series ON sessions (org_id, series_id);

CREATE TABLE session_therapists (
    org_id       uuid NOT NULL,
    id           uuid NOT NULL,
    session_id   uuid NOT NULL,
    therapist_id uuid NOT NULL,
    status       text NOT NULL CHECK (status IN ('PENDING', 'ACCEPTED', 'DECLINED')),
    message      text,
    invited_at   timestamptz NOT NULL,
    responded_at timestamptz,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, session_id, therapist_id),
    FOREIGN KEY (org_id, session_id) REFERENCES sessions (org_id, id),
    FOREIGN KEY (org_id, therapist_id) REFERENCES people (org_id, id)
);
CREATE INDEX session_therapists_by_therapist ON session_therapists (org_id, therapist_id, status);

CREATE TABLE seats (
    org_id             uuid NOT NULL,
    id                 uuid NOT NULL,
    session_id         uuid NOT NULL,
    client_id          uuid NOT NULL,
    status             text NOT NULL CHECK (status IN ('REGISTERED', 'CONFIRMED', 'ATTENDED', 'NO_SHOW',
                                                       'CANCELLED_BY_CLIENT', 'CANCELLED_BY_PROVIDER', 'LATE_CANCELLED')),
    minutes_late       bigint,
    minutes_left_early bigint,
    note               text,
    marked_by          uuid,
    marked_at          timestamptz,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, session_id, client_id),
    FOREIGN KEY (org_id, session_id) REFERENCES sessions (org_id, id),
    FOREIGN KEY (org_id, client_id) REFERENCES people (org_id, id)
);
CREATE INDEX seats_by_client ON seats (org_id, client_id);

CREATE TABLE holds (
    org_id       uuid NOT NULL,
    id           uuid NOT NULL,
    therapist_id uuid NOT NULL,
    client_id    uuid NOT NULL,
    status       text NOT NULL CHECK (status IN ('live', 'confirmed', 'released', 'expired')),
    expires_at   timestamptz NOT NULL,
    title        text NOT NULL,
    description  text NOT NULL,
    modality     text NOT NULL CHECK (modality IN ('VIRTUAL', 'IN_PERSON')),
    virtual_link text,
    location     text,
    address      text,
    timezone     text NOT NULL,
    created_by   uuid,
    created_at   timestamptz NOT NULL,
    closed_at    timestamptz,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, therapist_id) REFERENCES people (org_id, id),
    FOREIGN KEY (org_id, client_id) REFERENCES people (org_id, id)
);
CREATE INDEX holds_live_by_expiry ON holds (expires_at) WHERE status = 'live';

CREATE TABLE hold_slots (
    org_id     uuid NOT NULL,
    hold_id    uuid NOT NULL,
    position   bigint NOT NULL,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    session_id uuid,
    PRIMARY KEY (org_id, hold_id, position),
    FOREIGN KEY (org_id, hold_id) REFERENCES holds (org_id, id)
);

CREATE TABLE busy_intervals (
    org_id     uuid NOT NULL,
    id         uuid NOT NULL,
    person_id  uuid NOT NULL,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('session', 'hold')),
    session_id uuid,
    hold_id    uuid,
    expires_at timestamptz,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id),
    CHECK (ends_at > starts_at AND ends_at - starts_at <= interval '24 hours'),
    CONSTRAINT busy_intervals_no_overlap
        EXCLUDE USING gist (org_id WITH =, person_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
);
CREATE INDEX busy_by_person ON busy_intervals (org_id, person_id, starts_at);
CREATE INDEX busy_by_session ON busy_intervals (org_id, session_id);
CREATE INDEX busy_by_hold ON busy_intervals (org_id, hold_id);
