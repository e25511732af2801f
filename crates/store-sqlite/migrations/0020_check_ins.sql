-- Check-ins: questionnaires attached to sessions and members' answers.
--
-- Built-in questionnaires (mood, PHQ-9, GAD-7, session rating) live in the
-- domain and are named by key; this table holds each organisation's own.
-- A check-in attaches one questionnaire to one session or to every session
-- of a group; a group's check-in is not copied per session: a session's
-- check-ins are read as its own plus its group's, and answers are keyed by
-- (check-in, session, member).

ALTER TABLE organisations ADD COLUMN check_in_k INTEGER NOT NULL DEFAULT 5 CHECK (check_in_k BETWEEN 3 AND 50);

CREATE TABLE questionnaires (
    org_id           TEXT NOT NULL REFERENCES organisations (id),
    id               TEXT NOT NULL,
    title            TEXT NOT NULL,
    instructions     TEXT NOT NULL,
    items            TEXT NOT NULL,
    higher_is_better INTEGER NOT NULL,
    created_by       TEXT,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (org_id, id)
) STRICT;

CREATE TABLE check_ins (
    org_id         TEXT NOT NULL REFERENCES organisations (id),
    id             TEXT NOT NULL,
    questionnaire  TEXT NOT NULL,
    session_id     TEXT,
    group_id       TEXT,
    phase          TEXT NOT NULL CHECK (phase IN ('BEFORE', 'AFTER')),
    opens_minutes  INTEGER NOT NULL,
    closes_minutes INTEGER NOT NULL CHECK (closes_minutes > opens_minutes),
    created_by     TEXT,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (org_id, id),
    CHECK ((session_id IS NULL) <> (group_id IS NULL))
) STRICT;
CREATE INDEX check_ins_by_session ON check_ins (org_id, session_id);
CREATE INDEX check_ins_by_group ON check_ins (org_id, group_id);

-- One row per member per check-in per session; answering again within the
-- window updates it. Numbers are kept in the clear for scores and group
-- results; short-text answers are sealed (text_answers).
CREATE TABLE check_in_responses (
    org_id        TEXT NOT NULL REFERENCES organisations (id),
    id            TEXT NOT NULL,
    check_in_id   TEXT NOT NULL,
    session_id    TEXT NOT NULL,
    person_id     TEXT NOT NULL,
    questionnaire TEXT NOT NULL,
    answers       TEXT NOT NULL,
    text_answers  TEXT,
    total         INTEGER,
    band          TEXT,
    safety_alert  INTEGER NOT NULL,
    answered_at   INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, check_in_id, session_id, person_id)
) STRICT;
CREATE INDEX check_in_responses_by_person ON check_in_responses (org_id, person_id, questionnaire);
