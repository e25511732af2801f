-- E-mail owed to an account rather than to a person in one organisation: a
-- password reset link, or an organisation's invitation to join it (the
-- invitee is not among its people yet). The outbox rules of `deliveries`
-- hold here too: written in the use case's transaction, claimed by the one
-- writer, leased while `sending` (the lease kept in next_attempt_at),
-- retried with backoff under the same id (the Message-ID). A table of its
-- own because `deliveries` belongs to an organisation and a recipient who
-- is one of its people.
--
-- A reset's token exists only in its e-mail: the worker makes it while
-- sending and keeps its SHA-256 hash here. The link works once, until
-- expires_at.
--
-- An invitation's e-mail names the invitation by (invitation_org,
-- invitation_id) and reads it when sent; no foreign key, since this table
-- is account-wide like the account itself and the invitation is not.
CREATE TABLE account_mail (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    kind            TEXT NOT NULL CHECK (kind IN ('password_reset', 'org_invitation')),
    invitation_org  TEXT,
    invitation_id   TEXT,
    token_hash      BLOB UNIQUE,
    expires_at      INTEGER,
    used_at         INTEGER,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'suppressed')),
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    CHECK ((kind = 'password_reset') = (expires_at IS NOT NULL)),
    CHECK ((kind = 'org_invitation') = (invitation_id IS NOT NULL AND invitation_org IS NOT NULL))
) STRICT;
CREATE INDEX account_mail_due ON account_mail (state, next_attempt_at);
CREATE INDEX account_mail_by_account ON account_mail (account_id, kind);
