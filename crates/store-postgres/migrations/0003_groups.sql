-- Groups (therapy groups and communities), their staff and memberships,
-- proposal approval and reminders on sessions, and the notifications inbox.

CREATE TABLE groups (
    org_id             uuid NOT NULL REFERENCES organisations (id),
    id                 uuid NOT NULL,
    name               text NOT NULL,
    description        text NOT NULL,
    group_type         text NOT NULL CHECK (group_type IN ('THERAPY', 'SUPPORT', 'EDUCATION', 'SKILLS', 'COMMUNITY')),
    status             text NOT NULL CHECK (status IN ('active', 'archived')),
    open               boolean NOT NULL,
    capacity           bigint CHECK (capacity IS NULL OR capacity >= 1),
    requires_screening boolean NOT NULL,
    target_population  text,
    age_range          text,
    modality           text CHECK (modality IS NULL OR modality IN ('VIRTUAL', 'IN_PERSON')),
    virtual_link       text,
    location           text,
    address            text,
    settings           text NOT NULL,
    recurrence         text,
    created_by         uuid,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    archived_at        timestamptz,
    PRIMARY KEY (org_id, id)
);

CREATE TABLE group_staff (
    org_id    uuid NOT NULL,
    group_id  uuid NOT NULL,
    person_id uuid NOT NULL,
    role      text NOT NULL CHECK (role IN ('moderator', 'facilitator')),
    added_at  timestamptz NOT NULL,
    PRIMARY KEY (org_id, group_id, person_id, role),
    FOREIGN KEY (org_id, group_id) REFERENCES groups (org_id, id),
    FOREIGN KEY (org_id, person_id) REFERENCES people (org_id, id)
);
CREATE INDEX group_staff_by_person ON group_staff (org_id, person_id);

CREATE TABLE group_memberships (
    org_id             uuid NOT NULL,
    id                 uuid NOT NULL,
    group_id           uuid NOT NULL,
    client_id          uuid NOT NULL,
    status             text NOT NULL CHECK (status IN ('PENDING_SCREENING', 'ACTIVE', 'WAITLISTED', 'INACTIVE', 'GRADUATED')),
    join_date          date NOT NULL,
    leave_date         date,
    exit_reason        text,
    screening_date     date,
    screening_notes    text,
    screening_approved boolean,
    screened_by        uuid,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, group_id) REFERENCES groups (org_id, id),
    FOREIGN KEY (org_id, client_id) REFERENCES people (org_id, id)
);
-- A client has at most one current membership of a group; past periods stay.
CREATE UNIQUE INDEX group_memberships_one_current ON group_memberships (org_id, group_id, client_id)
    WHERE status IN ('PENDING_SCREENING', 'ACTIVE', 'WAITLISTED');
CREATE INDEX group_memberships_by_client ON group_memberships (org_id, client_id);

ALTER TABLE sessions ADD COLUMN approval text CHECK (approval IS NULL OR approval IN ('pending', 'approved', 'rejected'));
ALTER TABLE sessions ADD COLUMN reminded_at timestamptz;
ALTER TABLE sessions ADD CONSTRAINT sessions_group_fk FOREIGN KEY (org_id, group_id) REFERENCES groups (org_id, id);
CREATE INDEX sessions_by_group ON sessions (org_id, group_id, starts_at);

CREATE TABLE notifications (
    org_id       uuid NOT NULL,
    id           uuid NOT NULL,
    recipient_id uuid NOT NULL,
    kind         text NOT NULL,
    title        text NOT NULL,
    body         text NOT NULL,
    session_id   uuid,
    group_id     uuid,
    created_at   timestamptz NOT NULL,
    read_at      timestamptz,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, recipient_id) REFERENCES people (org_id, id)
);
CREATE INDEX notifications_by_recipient ON notifications (org_id, recipient_id, created_at);
