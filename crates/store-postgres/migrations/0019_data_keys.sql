-- Each organisation's data keys, wrapped (sealed) under the master key,
-- which never enters the database. Clinical free text is sealed under the
-- active version; retired versions stay until nothing is sealed under them,
-- so values keep opening while a rotation re-seals them. Deleting an
-- organisation's rows here makes its clinical text unreadable for good.

CREATE TABLE data_keys (
    org_id      uuid NOT NULL REFERENCES organisations (id),
    version     integer NOT NULL CHECK (version >= 1),
    wrapped_key bytea NOT NULL,
    state       text NOT NULL CHECK (state IN ('active', 'retired')),
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (org_id, version)
);
-- At most one active key per organisation.
CREATE UNIQUE INDEX data_keys_one_active ON data_keys (org_id) WHERE state = 'active';
