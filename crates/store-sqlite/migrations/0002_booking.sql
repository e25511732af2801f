-- Sessions, therapist assignments, seats, holds, and the busy intervals that
-- make double booking impossible. On SQLite the guarantee is procedural:
-- every write runs under BEGIN IMMEDIATE on the single writer connection,
-- and the overlap check and the insert happen in that one transaction.

CREATE TABLE sessions (
    org_id        TEXT NOT NULL REFERENCES organisations (id),
    id            TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('one_on_one', 'group', 'instant')),
    status        TEXT NOT NULL CHECK (status IN ('proposed', 'scheduled', 'in_progress', 'completed', 'cancelled')),
    title         TEXT NOT NULL,
    description   TEXT NOT NULL,
    modality      TEXT NOT NULL CHECK (modality IN ('VIRTUAL', 'IN_PERSON')),
    virtual_link  TEXT,
    location      TEXT,
    address       TEXT,
    starts_at     INTEGER NOT NULL,
    ends_at       INTEGER NOT NULL,
    timezone      TEXT NOT NULL,
    capacity      INTEGER NOT NULL CHECK (capacity >= 1),
    group_id      TEXT,
    series_id     TEXT,
    recurrence_id TEXT,
    created_by    TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    cancelled_at  INTEGER,
    cancel_reason TEXT,
    PRIMARY KEY (org_id, id),
    CHECK (ends_at > starts_at)
) STRICT;
CREATE INDEX sessions_by_start ON sessions (org_id, starts_at);
CREATE INDEX sessions_by_series ON sessions (org_id, series_id);

CREATE TABLE session_therapists (
    org_id       TEXT NOT NULL,
    id           TEXT NOT NULL,
    session_id   TEXT NOT NULL,
    therapist_id TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('PENDING', 'ACCEPTED', 'DECLINED')),
    message      TEXT,
    invited_at   INTEGER NOT NULL,
    responded_at INTEGER,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, session_id, therapist_id),
    FOREIGN KEY (org_id, session_id) REFERENCES sessions (org_id, id),
    FOREIGN KEY (org_id, therapist_id) REFERENCES people (org_id, id)
) STRICT;
CREATE INDEX session_therapists_by_therapist ON session_therapists (org_id, therapist_id, status);

CREATE TABLE seats (
    org_id             TEXT NOT NULL,
    id                 TEXT NOT NULL,
    session_id         TEXT NOT NULL,
    client_id          TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('REGISTERED', 'CONFIRMED', 'ATTENDED', 'NO_SHOW',
                                                       'CANCELLED_BY_CLIENT', 'CANCELLED_BY_PROVIDER', 'LATE_CANCELLED')),
    minutes_late       INTEGER,
    minutes_left_early INTEGER,
    note               TEXT,
    marked_by          TEXT,
    marked_at          INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, session_id, client_id),
    FOREIGN KEY (org_id, session_id) REFERENCES sessions (org_id, id),
    FOREIGN KEY (org_id, client_id) REFERENCES people (org_id, id)
) STRICT;
CREATE INDEX seats_by_client ON seats (org_id, client_id);

CREATE TABLE holds (
    org_id       TEXT NOT NULL,
    id           TEXT NOT NULL,
    therapist_id TEXT NOT NULL,
    client_id    TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('live', 'confirmed', 'released', 'expired')),
    expires_at   INTEGER NOT NULL,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL,
    modality     TEXT NOT NULL CHECK (modality IN ('VIRTUAL', 'IN_PERSON')),
    virtual_link TEXT,
    location     TEXT,
    address      TEXT,
    timezone     TEXT NOT NULL,
    created_by   TEXT,
    created_at   INTEGER NOT NULL,
    closed_at    INTEGER,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, therapist_id) REFERENCES people (org_id, id),
    FOREIGN KEY (org_id, client_id) REFERENCES people (org_id, id)
) STRICT;
CREATE INDEX holds_live_by_expiry ON holds (status, expires_at);

CREATE TABLE hold_slots (
    org_id     TEXT NOT NULL,
    hold_id    TEXT NOT NULL,
    position   INTEGER NOT NULL,
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL,
    session_id TEXT,
    PRIMARY KEY (org_id, hold_id, position),
    FOREIGN KEY (org_id, hold_id) REFERENCES holds (org_id, id)
) STRICT;

-- One row per person per occupied interval: a therapist accepted on a
-- session, a client's live seat, or a live hold. Holds carry their expiry;
-- an expired hold stops counting at that instant.
CREATE TABLE busy_intervals (
    org_id     TEXT NOT NULL,
    id         TEXT NOT NULL,
    person_id  TEXT NOT NULL,
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('session', 'hold')),
    session_id TEXT,
    hold_id    TEXT,
    expires_at INTEGER,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id),
    CHECK (ends_at > starts_at AND ends_at - starts_at <= 86400000000)
) STRICT;
CREATE INDEX busy_by_person ON busy_intervals (org_id, person_id, starts_at);
CREATE INDEX busy_by_session ON busy_intervals (org_id, session_id);
CREATE INDEX busy_by_hold ON busy_intervals (org_id, hold_id);
