-- Accounts, organisations, people, tokens, idempotency keys and the audit
-- chain. Instants are INTEGER microseconds since the Unix epoch (UTC); ids are
-- UUID text. Tenant tables lead every key with org_id.

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE organisations (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    timezone   TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE people (
    org_id     TEXT NOT NULL REFERENCES organisations (id),
    id         TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    role       TEXT NOT NULL CHECK (role IN ('admin', 'moderator', 'therapist', 'client')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, account_id)
) STRICT;
CREATE INDEX people_by_account ON people (account_id);
CREATE INDEX people_by_role ON people (org_id, role);

CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    kind       TEXT NOT NULL CHECK (kind IN ('session', 'api')),
    name       TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
) STRICT;
CREATE INDEX api_tokens_by_account ON api_tokens (account_id);

CREATE TABLE idempotency_keys (
    account_id            TEXT NOT NULL REFERENCES accounts (id),
    key                   TEXT NOT NULL,
    fingerprint           BLOB NOT NULL,
    state                 TEXT NOT NULL CHECK (state IN ('in_progress', 'done')),
    locked_at             INTEGER NOT NULL,
    created_at            INTEGER NOT NULL,
    response_status       INTEGER,
    response_content_type TEXT,
    response_body         BLOB,
    PRIMARY KEY (account_id, key)
) STRICT;
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

CREATE TABLE audit_heads (
    org_id TEXT PRIMARY KEY,
    seq    INTEGER NOT NULL,
    hash   BLOB NOT NULL
) STRICT;

CREATE TABLE audit_events (
    org_id            TEXT NOT NULL,
    seq               INTEGER NOT NULL,
    id                TEXT NOT NULL,
    occurred_at       INTEGER NOT NULL,
    actor_account_id  TEXT,
    actor_person_id   TEXT,
    subject_person_id TEXT,
    action            TEXT NOT NULL,
    record_type       TEXT NOT NULL,
    record_id         TEXT NOT NULL,
    request_id        TEXT,
    ip                TEXT,
    details           TEXT NOT NULL,
    prev_hash         BLOB NOT NULL,
    hash              BLOB NOT NULL,
    PRIMARY KEY (org_id, seq)
) STRICT;
CREATE INDEX audit_events_by_subject ON audit_events (org_id, subject_person_id);
