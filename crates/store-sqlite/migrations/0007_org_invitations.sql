-- An existing account added to an organisation is invited, not linked: it
-- joins only when it accepts. `name` is what the inviting admin typed; the
-- organisation never sees the account's own name before it accepts. On
-- acceptance the person record takes the invitation's id.

CREATE TABLE org_invitations (
    org_id       TEXT NOT NULL REFERENCES organisations (id),
    id           TEXT NOT NULL,
    account_id   TEXT NOT NULL REFERENCES accounts (id),
    email        TEXT NOT NULL,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'moderator', 'therapist', 'client')),
    status       TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'declined')),
    invited_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    responded_at INTEGER,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, invited_by) REFERENCES people (org_id, id)
) STRICT;
-- One open invitation per account and organisation.
CREATE UNIQUE INDEX org_invitations_one_pending ON org_invitations (org_id, account_id) WHERE status = 'pending';
CREATE INDEX org_invitations_by_account ON org_invitations (account_id, status);
