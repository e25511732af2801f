-- E-mail owed to an account rather than to a person in one organisation: a
-- password reset link, or an organisation's invitation to join it (the
-- invitee is not among its people yet). The outbox rules of `deliveries`
-- hold here too: written in the use case's transaction, claimed
-- FOR UPDATE SKIP LOCKED, leased while `sending` (the lease kept in
-- next_attempt_at), retried with backoff under the same id (the
-- Message-ID). A table of its own because `deliveries` belongs to an
-- organisation and a recipient who is one of its people.
--
-- A reset's token exists only in its e-mail: the worker makes it while
-- sending and keeps its SHA-256 hash here. The link works once, until
-- expires_at.
--
-- An invitation's e-mail names the invitation by (invitation_org,
-- invitation_id) and reads it when sent; no foreign key, since this table
-- is account-wide like the account itself and the invitation is not.
CREATE TABLE account_mail (
    id              uuid PRIMARY KEY,
    account_id      uuid NOT NULL REFERENCES accounts (id),
    kind            text NOT NULL CHECK (kind IN ('password_reset', 'org_invitation')),
    invitation_org  uuid,
    invitation_id   uuid,
    token_hash      bytea UNIQUE,
    expires_at      timestamptz,
    used_at         timestamptz,
    state           text NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'suppressed')),
    attempts        bigint NOT NULL CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    CHECK ((kind = 'password_reset') = (expires_at IS NOT NULL)),
    CHECK ((kind = 'org_invitation') = (invitation_id IS NOT NULL AND invitation_org IS NOT NULL))
);
CREATE INDEX account_mail_due ON account_mail (next_attempt_at) WHERE state IN ('pending', 'sending');
CREATE INDEX account_mail_by_account ON account_mail (account_id, kind);
