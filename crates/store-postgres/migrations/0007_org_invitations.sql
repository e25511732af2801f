-- An existing account added to an organisation is invited, not linked: it
-- joins only when it accepts. `name` is what the inviting admin typed; the
-- organisation never sees the account's own name before it accepts. On
-- acceptance the person record takes the invitation's id.

CREATE TABLE org_invitations (
    org_id       uuid NOT NULL REFERENCES organisations (id),
    id           uuid NOT NULL,
    account_id   uuid NOT NULL REFERENCES accounts (id),
    email        text NOT NULL,
    name         text NOT NULL,
    role         text NOT NULL CHECK (role IN ('admin', 'moderator', 'therapist', 'client')),
    status       text NOT NULL CHECK (status IN ('pending', 'accepted', 'declined')),
    invited_by   uuid NOT NULL,
    created_at   timestamptz NOT NULL,
    responded_at timestamptz,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, invited_by) REFERENCES people (org_id, id)
);
-- One open invitation per account and organisation.
CREATE UNIQUE INDEX org_invitations_one_pending ON org_invitations (org_id, account_id) WHERE status = 'pending';
CREATE INDEX org_invitations_by_account ON org_invitations (account_id, status);
