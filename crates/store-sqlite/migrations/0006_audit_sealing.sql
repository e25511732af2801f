-- Events are written unsealed by the use case that causes them, in its
-- transaction, and linked into their organisation's chain moments later by
-- the sealer, which links whole batches at once. `arrival` (the rowid)
-- orders the events waiting for it.
CREATE TABLE audit_events_sealed (
    arrival           INTEGER PRIMARY KEY,
    org_id            TEXT NOT NULL,
    seq               INTEGER,
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
    prev_hash         BLOB,
    hash              BLOB,
    UNIQUE (org_id, id),
    CHECK ((seq IS NULL) = (hash IS NULL) AND (seq IS NULL) = (prev_hash IS NULL))
) STRICT;
INSERT INTO audit_events_sealed (org_id, seq, id, occurred_at, actor_account_id, actor_person_id,
    subject_person_id, action, record_type, record_id, request_id, ip, details, prev_hash, hash)
SELECT org_id, seq, id, occurred_at, actor_account_id, actor_person_id, subject_person_id, action,
    record_type, record_id, request_id, ip, details, prev_hash, hash
FROM audit_events ORDER BY org_id, seq;
DROP TABLE audit_events;
ALTER TABLE audit_events_sealed RENAME TO audit_events;
CREATE UNIQUE INDEX audit_events_by_seq ON audit_events (org_id, seq);
CREATE INDEX audit_events_by_subject ON audit_events (org_id, subject_person_id);
CREATE INDEX audit_events_unsealed ON audit_events (org_id, arrival) WHERE seq IS NULL;
