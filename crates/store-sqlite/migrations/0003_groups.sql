-- Groups (therapy groups and communities), their staff and memberships,
-- proposal approval and reminders on sessions, and the notifications inbox.
-- SQLite cannot add a composite foreign key to an existing table, so
-- sessions.group_id is checked by the store on this backend (PostgreSQL
-- enforces it with a constraint).

CREATE TABLE groups (
    org_id             TEXT NOT NULL REFERENCES organisations (id),
    id                 TEXT NOT NULL,
    name               TEXT NOT NULL,
    description        TEXT NOT NULL,
    group_type         TEXT NOT NULL CHECK (group_type IN ('THERAPY', 'SUPPORT', 'EDUCATION', 'SKILLS', 'COMMUNITY')),
    status             TEXT NOT NULL CHECK (status IN ('active', 'archived')),
    open               INTEGER NOT NULL,
    capacity           INTEGER CHECK (capacity IS NULL OR capacity >= 1),
    requires_screening INTEGER NOT NULL,
    target_population  TEXT,
    age_range          TEXT,
    modality           TEXT CHECK (modality IS NULL OR modality IN ('VIRTUAL', 'IN_PERSON')),
    virtual_link       TEXT,
    location           TEXT,
    address            TEXT,
    settings           TEXT NOT NULL,
    recurrence         TEXT,
    created_by         TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    archived_at        INTEGER,
    PRIMARY KEY (org_id, id)
) STRICT;

CREATE TABLE group_staff (
    org_id    TEXT NOT NULL,
    group_id  TEXT NOT NULL,
    person_id TEXT NOT NULL,
    role      TEXT NOT NULL CHECK (role IN ('moderator', 'facilitator')),
    added_at  INTEGER NOT NULL,
    PRIMARY KEY (org_id, group_id, person_id, role),
    FOREIGN KEY (org_id, group_id) REFERENCES groups (org_id, id),
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id)
) STRICT;
CREATE INDEX group_staff_by_person ON group_staff (org_id, person_id);

CREATE TABLE group_memberships (
    org_id             TEXT NOT NULL,
    id                 TEXT NOT NULL,
    group_id           TEXT NOT NULL,
    client_id          TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('PENDING_SCREENING', 'ACTIVE', 'WAITLISTED', 'INACTIVE', 'GRADUATED')),
    join_date          TEXT NOT NULL,
    leave_date         TEXT,
    exit_reason        TEXT,
    screening_date     TEXT,
    screening_notes    TEXT,
    screening_approved INTEGER,
    screened_by        TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, group_id) REFERENCES groups (org_id, id),
    FOREIGN KEY (org_id, client_id) REFERENCES people (org_id, id)
) STRICT;
-- A client has at most one current membership of a group; past periods stay.
CREATE UNIQUE INDEX group_memberships_one_current ON group_memberships (org_id, group_id, client_id)
    WHERE status IN ('PENDING_SCREENING', 'ACTIVE', 'WAITLISTED');
CREATE INDEX group_memberships_by_client ON group_memberships (org_id, client_id);

ALTER TABLE sessions ADD COLUMN approval TEXT CHECK (approval IS NULL OR approval IN ('pending', 'approved', 'rejected'));
ALTER TABLE sessions ADD COLUMN reminded_at INTEGER;
CREATE INDEX sessions_by_group ON sessions (org_id, group_id, starts_at);

CREATE TABLE notifications (
    org_id       TEXT NOT NULL,
    id           TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    kind         TEXT NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    session_id   TEXT,
    group_id     TEXT,
    created_at   INTEGER NOT NULL,
    read_at      INTEGER,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, recipient_id) REFERENCES people (org_id, id)
) STRICT;
CREATE INDEX notifications_by_recipient ON notifications (org_id, recipient_id, created_at);
