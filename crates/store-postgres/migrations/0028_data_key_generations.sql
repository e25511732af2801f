-- A counter per organisation that every change to its data keys moves, in
-- the same transaction: a new key, retired keys destroyed, shredding.
-- Servers keep unwrapped keys in memory and read this counter in each
-- transaction that seals or opens clinical text, so a change made by any
-- process is seen by the next transaction everywhere. A transaction sealing
-- under the active key holds the row FOR SHARE, so a change waits for it.
-- No row yet means the organisation's keys have never changed since the
-- counter came in.
CREATE TABLE data_key_generations (
    org_id     uuid PRIMARY KEY REFERENCES organisations (id),
    generation bigint NOT NULL CHECK (generation >= 1)
);
