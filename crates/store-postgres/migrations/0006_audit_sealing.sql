-- Events are written unsealed by the use case that causes them, in its
-- transaction, and linked into their organisation's chain moments later by
-- the sealer. Writers of one organisation then never queue behind each other
-- for the chain head; the sealer links whole batches at once.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_pkey;
ALTER TABLE audit_events ADD COLUMN arrival bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE audit_events
    ALTER COLUMN seq DROP NOT NULL,
    ALTER COLUMN prev_hash DROP NOT NULL,
    ALTER COLUMN hash DROP NOT NULL;
ALTER TABLE audit_events ADD PRIMARY KEY (org_id, id);
ALTER TABLE audit_events ADD CONSTRAINT audit_events_sealed_whole
    CHECK ((seq IS NULL) = (hash IS NULL) AND (seq IS NULL) = (prev_hash IS NULL));
CREATE UNIQUE INDEX audit_events_by_seq ON audit_events (org_id, seq);
CREATE INDEX audit_events_unsealed ON audit_events (org_id, arrival) WHERE seq IS NULL;
