-- Accounts, organisations, people, tokens, idempotency keys and the audit
-- chain. Tenant tables lead every primary key and unique constraint with
-- org_id, so the schema can be distributed by organisation unchanged.

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE accounts (
    id            uuid PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    name          text NOT NULL,
    password_hash text,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE organisations (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    timezone   text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE people (
    org_id     uuid NOT NULL REFERENCES organisations (id),
    id         uuid NOT NULL,
    account_id uuid NOT NULL REFERENCES accounts (id),
    role       text NOT NULL CHECK (role IN ('admin', 'moderator', 'therapist', 'client')),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, account_id)
);
CREATE INDEX people_by_account ON people (account_id);
CREATE INDEX people_by_role ON people (org_id, role);

CREATE TABLE api_tokens (
    id         uuid PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id),
    kind       text NOT NULL CHECK (kind IN ('session', 'api')),
    name       text NOT NULL,
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX api_tokens_by_account ON api_tokens (account_id);

CREATE TABLE idempotency_keys (
    account_id            uuid NOT NULL REFERENCES accounts (id),
    key                   text NOT NULL,
    fingerprint           bytea NOT NULL,
    state                 text NOT NULL CHECK (state IN ('in_progress', 'done')),
    locked_at             timestamptz NOT NULL,
    created_at            timestamptz NOT NULL,
    response_status       bigint,
    response_content_type text,
    response_body         bytea,
    PRIMARY KEY (account_id, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

CREATE TABLE audit_heads (
    org_id uuid PRIMARY KEY,
    seq    bigint NOT NULL,
    hash   bytea NOT NULL
);

CREATE TABLE audit_events (
    org_id            uuid NOT NULL,
    seq               bigint NOT NULL,
    id                uuid NOT NULL,
    occurred_at       timestamptz NOT NULL,
    actor_account_id  uuid,
    actor_person_id   uuid,
    subject_person_id uuid,
    action            text NOT NULL,
    record_type       text NOT NULL,
    record_id         text NOT NULL,
    request_id        text,
    ip                text,
    details           text NOT NULL,
    prev_hash         bytea NOT NULL,
    hash              bytea NOT NULL,
    PRIMARY KEY (org_id, seq)
);
CREATE INDEX audit_events_by_subject ON audit_events (org_id, subject_person_id);
