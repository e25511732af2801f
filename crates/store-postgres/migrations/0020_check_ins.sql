-- Check-ins: questionnaires attached to sessions and members' answers.
--
-- Built-in questionnaires (mood, PHQ-9, GAD-7, session rating) live in the
-- domain and are named by key; this table holds each organisation's own.
-- A check-in attaches one questionnaire to one session or to every session
-- of a group; a group's check-in is not copied per session: a session's
-- check-ins are read as its own plus its group's, and answers are keyed by
-- (check-in, session, member).

ALTER TABLE organisations ADD COLUMN check_in_k integer NOT NULL DEFAULT 5 CHECK (check_in_k BETWEEN 3 AND 50);

CREATE TABLE questionnaires (
    org_id           uuid NOT NULL REFERENCES organisations (id),
    id               uuid NOT NULL,
    title            text NOT NULL,
    instructions     text NOT NULL,
    items            text NOT NULL,
    higher_is_better boolean NOT NULL,
    created_by       uuid,
    created_at       timestamptz NOT NULL,
    PRIMARY KEY (org_id, id)
);

CREATE TABLE check_ins (
    org_id         uuid NOT NULL REFERENCES organisations (id),
    id             uuid NOT NULL,
    questionnaire  text NOT NULL,
    session_id     uuid,
    group_id       uuid,
    phase          text NOT NULL CHECK (phase IN ('BEFORE', 'AFTER')),
    opens_minutes  integer NOT NULL,
    closes_minutes integer NOT NULL CHECK (closes_minutes > opens_minutes),
    created_by     uuid,
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (org_id, id),
    CHECK ((session_id IS NULL) <> (group_id IS NULL))
);
CREATE INDEX check_ins_by_session ON check_ins (org_id, session_id);
CREATE INDEX check_ins_by_group ON check_ins (org_id, group_id);

-- One row per member per check-in per session; answering again within the
-- window updates it. Numbers are kept in the clear for scores and group
-- results; short-text answers are sealed (text_answers).
CREATE TABLE check_in_responses (
    org_id        uuid NOT NULL REFERENCES organisations (id),
    id            uuid NOT NULL,
    check_in_id   uuid NOT NULL,
    session_id    uuid NOT NULL,
    person_id     uuid NOT NULL,
    questionnaire text NOT NULL,
    answers       text NOT NULL,
    text_answers  text,
    total         integer,
    band          text,
    safety_alert  boolean NOT NULL,
    answered_at   timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, check_in_id, session_id, person_id)
);
CREATE INDEX check_in_responses_by_person ON check_in_responses (org_id, person_id, questionnaire);
