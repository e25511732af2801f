-- Therapists' weekly working hours and their time off.
--
-- Time off can last weeks, so it lives here and not in busy_intervals (whose
-- rows are at most 24 hours long); conflict checks read both. One
-- therapist's pending and approved requests never overlap: on SQLite the
-- check runs under the single writer's lock, like every booking.

-- A therapist's week: the zone its wall-clock rules are in. A therapist
-- without a row (or without rules) is available at any time.
CREATE TABLE therapist_weeks (
    org_id       TEXT NOT NULL,
    therapist_id TEXT NOT NULL,
    timezone     TEXT NOT NULL,
    updated_by   TEXT,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (org_id, therapist_id),
    FOREIGN KEY (org_id, therapist_id) REFERENCES people (org_id, id)
) STRICT;

-- Weekday is ISO (1 = Monday); times are minutes after local midnight;
-- effective dates are inclusive YYYY-MM-DD.
CREATE TABLE availability_rules (
    org_id         TEXT NOT NULL,
    therapist_id   TEXT NOT NULL,
    position       INTEGER NOT NULL,
    weekday        INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_minute   INTEGER NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute     INTEGER NOT NULL CHECK (end_minute BETWEEN 1 AND 1440),
    modality       TEXT CHECK (modality IN ('VIRTUAL', 'IN_PERSON')),
    location       TEXT,
    max_sessions   INTEGER CHECK (max_sessions >= 1),
    effective_from TEXT,
    effective_to   TEXT,
    PRIMARY KEY (org_id, therapist_id, position),
    FOREIGN KEY (org_id, therapist_id) REFERENCES therapist_weeks (org_id, therapist_id),
    CHECK (end_minute > start_minute)
) STRICT;

CREATE TABLE time_off (
    org_id                TEXT NOT NULL,
    id                    TEXT NOT NULL,
    therapist_id          TEXT NOT NULL,
    kind                  TEXT NOT NULL CHECK (kind IN ('VACATION', 'SICK', 'CONFERENCE', 'PERSONAL', 'OTHER')),
    reason                TEXT NOT NULL,
    starts_at             INTEGER NOT NULL,
    ends_at               INTEGER NOT NULL,
    status                TEXT NOT NULL CHECK (status IN ('PENDING', 'APPROVED', 'DENIED', 'CANCELLED')),
    auto_reassign         INTEGER NOT NULL CHECK (auto_reassign IN (0, 1)),
    coverage_therapist_id TEXT,
    requested_by          TEXT,
    decided_by            TEXT,
    decided_at            INTEGER,
    decision_reason       TEXT,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, therapist_id) REFERENCES people (org_id, id),
    FOREIGN KEY (org_id, coverage_therapist_id) REFERENCES people (org_id, id),
    CHECK (ends_at > starts_at)
) STRICT;
CREATE INDEX time_off_by_therapist ON time_off (org_id, therapist_id, starts_at);
CREATE INDEX time_off_by_start ON time_off (org_id, starts_at);
