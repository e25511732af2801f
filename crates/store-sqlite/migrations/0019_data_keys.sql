-- Each organisation's data keys, wrapped (sealed) under the master key,
-- which never enters the database. Clinical free text is sealed under the
-- active version; retired versions stay until nothing is sealed under them,
-- so values keep opening while a rotation re-seals them. Deleting an
-- organisation's rows here makes its clinical text unreadable for good.

CREATE TABLE data_keys (
    org_id      TEXT NOT NULL REFERENCES organisations (id),
    version     INTEGER NOT NULL CHECK (version >= 1),
    wrapped_key BLOB NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('active', 'retired')),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (org_id, version)
) STRICT;
-- At most one active key per organisation.
CREATE UNIQUE INDEX data_keys_one_active ON data_keys (org_id) WHERE state = 'active';
