-- Therapists' weekly working hours and their time off.
--
-- Time off can last weeks, so it lives here and not in busy_intervals (whose
-- rows are at most 24 hours long); conflict checks read both. One
-- therapist's pending and approved requests never overlap: an exclusion
-- constraint says so, whatever order concurrent requests commit in.

-- A therapist's week: the zone its wall-clock rules are in. A therapist
-- without a row (or without rules) is available at any time.
CREATE TABLE therapist_weeks (
    org_id       uuid NOT NULL,
    therapist_id uuid NOT NULL,
    timezone     text NOT NULL,
    updated_by   uuid,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (org_id, therapist_id),
    FOREIGN KEY (org_id, therapist_id) REFERENCES people (org_id, id)
);

-- Weekday is ISO (1 = Monday); times are minutes after local midnight;
-- effective dates are inclusive.
CREATE TABLE availability_rules (
    org_id         uuid NOT NULL,
    therapist_id   uuid NOT NULL,
    position       bigint NOT NULL,
    weekday        bigint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_minute   bigint NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
    end_minute     bigint NOT NULL CHECK (end_minute BETWEEN 1 AND 1440),
    modality       text CHECK (modality IN ('VIRTUAL', 'IN_PERSON')),
    location       text,
    max_sessions   bigint CHECK (max_sessions >= 1),
    effective_from date,
    effective_to   date,
    PRIMARY KEY (org_id, therapist_id, position),
    FOREIGN KEY (org_id, therapist_id) REFERENCES therapist_weeks (org_id, therapist_id),
    CHECK (end_minute > start_minute)
);

CREATE TABLE time_off (
    org_id                uuid NOT NULL,
    id                    uuid NOT NULL,
    therapist_id          uuid NOT NULL,
    kind                  text NOT NULL CHECK (kind IN ('VACATION', 'SICK', 'CONFERENCE', 'PERSONAL', 'OTHER')),
    reason                text NOT NULL,
    starts_at             timestamptz NOT NULL,
    ends_at               timestamptz NOT NULL,
    status                text NOT NULL CHECK (status IN ('PENDING', 'APPROVED', 'DENIED', 'CANCELLED')),
    auto_reassign         boolean NOT NULL,
    coverage_therapist_id uuid,
    requested_by          uuid,
    decided_by            uuid,
    decided_at            timestamptz,
    decision_reason       text,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, therapist_id) REFERENCES people (org_id, id),
    FOREIGN KEY (org_id, coverage_therapist_id) REFERENCES people (org_id, id),
    CHECK (ends_at > starts_at),
    CONSTRAINT time_off_open_requests_do_not_overlap
        EXCLUDE USING gist (org_id WITH =, therapist_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)
        WHERE (status IN ('PENDING', 'APPROVED'))
);
CREATE INDEX time_off_by_therapist ON time_off (org_id, therapist_id, starts_at);
CREATE INDEX time_off_by_start ON time_off (org_id, starts_at);
