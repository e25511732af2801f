//! E-mail owed to an account: password reset links and invitations to join
//! an organisation, through an outbox of their own (`account_mail`).

use async_trait::async_trait;
use circles_domain::account_mail::ResetRefusal;
use circles_domain::ids::AccountMailId;
use circles_domain::input::Email;
use jiff::SignedDuration;

use crate::Result;
use crate::model::{AccountMessage, AuditCtx, DeliveryOutcome, FailedAccountMail, PasswordReset, ResetLink};

#[async_trait]
pub trait AccountMailStore: Send + Sync {
    /// Owes the account with this address an e-mail with a password reset
    /// link that works for `valid_for`, and audits the request. An unknown
    /// address owes nothing; the answer says which only so tests can tell,
    /// and callers must answer the same either way.
    async fn request_password_reset(&self, ctx: &AuditCtx, email: &Email, valid_for: SignedDuration) -> Result<bool>;
    /// Claims due account e-mail (`FOR UPDATE SKIP LOCKED` on PostgreSQL),
    /// each leased for `lease`.
    async fn claim_account_mail(&self, limit: u32, lease: SignedDuration) -> Result<Vec<AccountMessage>>;
    /// Keeps the hash of the token each claimed reset e-mail is about to
    /// carry; a token sent before (a retry) stops working.
    async fn arm_reset_links(&self, links: &[(AccountMailId, [u8; 32])]) -> Result<()>;
    /// Records how each claimed e-mail went.
    async fn finish_account_mail(&self, outcomes: &[(AccountMailId, DeliveryOutcome)]) -> Result<()>;
    /// Account e-mail that failed for good, in every organisation and none,
    /// the most recent failure first: the operator's list.
    async fn failed_account_mail(&self, limit: i64) -> Result<Vec<FailedAccountMail>>;
    /// Sends a failed account e-mail again, with a fresh round of attempts,
    /// and audits it on the platform's trail.
    async fn retry_account_mail(&self, ctx: &AuditCtx, id: AccountMailId) -> Result<FailedAccountMail>;
    /// When the reset link with this token stops working, or why it does
    /// not work.
    async fn reset_link(&self, token_hash: [u8; 32]) -> Result<std::result::Result<ResetLink, ResetRefusal>>;
    /// Sets the password of the link's account, spends the link (and every
    /// other open link of the account) and ends the account's login
    /// sessions, in one transaction.
    async fn reset_password(
        &self,
        ctx: &AuditCtx,
        token_hash: [u8; 32],
        password_hash: String,
    ) -> Result<std::result::Result<PasswordReset, ResetRefusal>>;
}
