//! `circles admin …`: what the platform operator does from a shell.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use circles_domain::Role;
use circles_domain::clock::SystemClock;
use circles_domain::ids::{AccountMailId, OrgId};
use circles_domain::input::{Email, OrgName, Password, PersonName, TimeZoneName};
use circles_domain::local_time::local_time;
use circles_store::model::{AuditCtx, FailedAccountMail, NewAccount, NewOrganisation, NewPerson, PasswordReset};
use clap::Subcommand;

use super::DatabaseArgs;
use crate::auth::password::PasswordHashing;
use crate::config::Settings;
use crate::storage;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an organisation and its first admin (a new or existing account).
    CreateOrg {
        #[arg(long)]
        name: String,
        /// IANA time zone, e.g. America/New_York.
        #[arg(long)]
        timezone: String,
        #[arg(long)]
        admin_email: String,
        #[arg(long)]
        admin_name: String,
        /// Password for a new admin account (or set CIRCLES_ADMIN_PASSWORD).
        #[arg(long, env = "CIRCLES_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: Option<String>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Add a person with a role to an organisation.
    AddPerson {
        #[arg(long)]
        org: OrgId,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, moderator, therapist or client.
        #[arg(long)]
        role: Role,
        #[arg(long, env = "CIRCLES_ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Set an account's password (ends its login sessions).
    ResetPassword {
        #[arg(long)]
        email: String,
        #[arg(long, env = "CIRCLES_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        /// Also revoke the account's API tokens (for an account that may
        /// have been taken over).
        #[arg(long)]
        revoke_api_tokens: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Give every organisation a new data key and re-seal its clinical text
    /// under it, in batches, while the server keeps running, then destroy
    /// the old keys (needs the master key). Safe to stop and run again.
    RotateKeys {
        /// Rows re-sealed per transaction.
        #[arg(long, default_value_t = 500)]
        batch: usize,
        /// Finish an interrupted rotation without making new keys.
        #[arg(long)]
        resume: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Destroy an organisation's data keys: all its clinical text (notes,
    /// reasons) becomes unreadable for good, in the database and in every
    /// backup. Running servers stop reading it within 30 seconds.
    ShredOrgKey {
        #[arg(long)]
        org: OrgId,
        /// Required: says you mean to destroy this organisation's clinical text.
        #[arg(long)]
        yes_destroy_clinical_text: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// List account e-mail (password resets, invitations to join) that failed
    /// for good, most recent first. Invitations also show on their
    /// organisation's failed-messages page; password resets belong to no
    /// organisation and show only here.
    FailedMail {
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Send a failed account e-mail again, with a fresh round of attempts.
    RetryMail {
        /// The id `failed-mail` shows.
        #[arg(long)]
        id: AccountMailId,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Recompute every audit hash chain and report the first broken link.
    AuditVerify {
        /// Only this organisation's chain.
        #[arg(long)]
        org: Option<OrgId>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

async fn open(
    config: Option<&Path>,
    database: &DatabaseArgs,
) -> anyhow::Result<(Arc<dyn circles_store::Store>, Settings)> {
    let settings = Settings::load(config, &database.overrides())?;
    let store = storage::open(&settings, Arc::new(SystemClock)).await?;
    Ok((store, settings))
}

fn hashing(settings: &Settings) -> anyhow::Result<PasswordHashing> {
    PasswordHashing::new(settings.argon2_memory_kib, settings.argon2_iterations)
}

/// What `reset-password` tells the operator it did.
fn reset_summary(email: &Email, reset: &PasswordReset, revoke_api_tokens: bool) -> String {
    let tokens = if revoke_api_tokens {
        format!("{} API token(s) revoked", reset.api_tokens_revoked)
    } else {
        "API tokens kept (use --revoke-api-tokens to revoke them)".to_owned()
    };
    format!("password set for {email}; {} login session(s) ended; {tokens}", reset.sessions_ended)
}

/// What `rotate-keys` tells the operator it did.
fn rotation_summary(report: &circles_store::RotationReport) -> String {
    let fields: Vec<String> = report.resealed.iter().map(|(field, n)| format!("{field}: {n}")).collect();
    format!(
        "{} organisation(s) given a new data key; re-sealed in {} batch(es): {}; {} value(s) unreadable, left as they are; \
         {} old data key(s) destroyed, {} kept because unreadable values still name them",
        report.new_keys,
        report.batches,
        fields.join(", "),
        report.unreadable,
        report.destroyed_keys,
        report.kept_keys
    )
}

/// One failed account e-mail in a line: whom it was for, what, and when,
/// in the account's zone.
fn failed_mail_line(mail: &FailedAccountMail) -> String {
    let zone = mail.timezone.as_deref().unwrap_or("UTC");
    let about = match &mail.org_name {
        Some(org) => format!("{} from {org}", mail.kind.words()),
        None => mail.kind.words(),
    };
    format!(
        "{}  {} <{}>: {about}, written {}, failed {} after {} attempt(s): {}",
        mail.id,
        mail.name,
        mail.email,
        local_time(mail.created_at, zone),
        local_time(mail.failed_at, zone),
        mail.attempts,
        mail.last_error.as_deref().unwrap_or("no error recorded")
    )
}

fn parse<T, E: std::fmt::Display>(what: &str, parsed: Result<T, E>) -> anyhow::Result<T> {
    parsed.map_err(|e| anyhow::anyhow!("{what} {e}"))
}

pub async fn run(command: AdminCommand, config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let ctx = AuditCtx::operator();
    match command {
        AdminCommand::CreateOrg { name, timezone, admin_email, admin_name, admin_password, database } => {
            let name = parse("--name", OrgName::parse(&name))?;
            let timezone = parse("--timezone", TimeZoneName::parse(&timezone))?;
            let email = parse("--admin-email", Email::parse(&admin_email))?;
            let admin_name = parse("--admin-name", PersonName::parse(&admin_name))?;
            let (store, settings) = open(config, &database).await?;
            let account_id = match store.credentials(&email).await? {
                Some(existing) => existing.account_id,
                None => {
                    let password = admin_password.context("a new admin account needs --admin-password")?;
                    let password = parse("--admin-password", Password::parse(&password))?;
                    let hash = hashing(&settings)?.hash(&password).await;
                    let account = NewAccount { email, name: admin_name, password_hash: Some(hash) };
                    store.create_account(&ctx, account).await?.id
                }
            };
            let (org, admin) = store
                .create_organisation(
                    &AuditCtx { account_id: Some(account_id), ..ctx },
                    NewOrganisation { name, timezone, admin: account_id },
                )
                .await?;
            store.seal_audit().await?;
            println!("organisation {} ({}) created; admin person {}", org.name, org.id, admin.id);
        }
        AdminCommand::AddPerson { org, email, name, role, password, database } => {
            let email = parse("--email", Email::parse(&email))?;
            let name = parse("--name", PersonName::parse(&name))?;
            let password = password.map(|p| parse("--password", Password::parse(&p))).transpose()?;
            let (store, settings) = open(config, &database).await?;
            let password_hash = match password {
                Some(p) => Some(hashing(&settings)?.hash(&p).await),
                None => None,
            };
            let person = store.add_person(&ctx, org, NewPerson { email, name, role, password_hash }).await?;
            store.seal_audit().await?;
            println!("{} added as {} ({})", person.email, person.role, person.id);
        }
        AdminCommand::ResetPassword { email, password, revoke_api_tokens, database } => {
            let email = parse("--email", Email::parse(&email))?;
            let password = parse("--password", Password::parse(&password))?;
            let (store, settings) = open(config, &database).await?;
            let hash = hashing(&settings)?.hash(&password).await;
            let reset = store.set_password(&ctx, &email, hash, revoke_api_tokens).await?;
            store.seal_audit().await?;
            println!("{}", reset_summary(&email, &reset, revoke_api_tokens));
        }
        AdminCommand::RotateKeys { batch, resume, database } => {
            let settings = Settings::load(config, &database.overrides())?;
            let key = storage::require_master_key(&settings)?;
            let store = storage::open_with_key(&settings, Arc::new(SystemClock), Some(key)).await?;
            let report = store.rotate_data_keys(&ctx, resume, batch).await?;
            store.seal_audit().await?;
            println!("{}", rotation_summary(&report));
        }
        AdminCommand::ShredOrgKey { org, yes_destroy_clinical_text, database } => {
            if !yes_destroy_clinical_text {
                anyhow::bail!(
                    "shred-org-key makes every clinical note and reason of organisation {org} unreadable for good; \
                     run it again with --yes-destroy-clinical-text if that is what you mean"
                );
            }
            let (store, _) = open(config, &database).await?;
            let deleted = store.shred_org_keys(&ctx, org).await?;
            store.seal_audit().await?;
            println!(
                "{deleted} data key(s) of organisation {org} destroyed: its clinical text now reads as unreadable"
            );
        }
        AdminCommand::FailedMail { limit, database } => {
            let (store, _) = open(config, &database).await?;
            let failed = store.failed_account_mail(limit.max(1)).await?;
            for mail in &failed {
                println!("{}", failed_mail_line(mail));
            }
            if failed.is_empty() {
                println!("no failed account e-mail");
            }
        }
        AdminCommand::RetryMail { id, database } => {
            let (store, _) = open(config, &database).await?;
            let mail = store.retry_account_mail(&ctx, id).await?;
            store.seal_audit().await?;
            println!("the {} to {} <{}> will be sent again", mail.kind.words(), mail.name, mail.email);
        }
        AdminCommand::AuditVerify { org, database } => {
            let (store, _) = open(config, &database).await?;
            let reports = store.verify_audit(org).await?;
            let mut broken = false;
            for report in &reports {
                let chain =
                    if report.org_id == OrgId::PLATFORM { "platform".to_owned() } else { report.org_id.to_string() };
                match &report.error {
                    None => println!("ok      {chain}: {} events", report.events),
                    Some(error) => {
                        broken = true;
                        println!("BROKEN  {chain}: {error} ({} events verified before it)", report.events);
                    }
                }
            }
            if reports.is_empty() {
                println!("no audit chains found");
            }
            return Ok(if broken { ExitCode::FAILURE } else { ExitCode::SUCCESS });
        }
    }
    Ok(ExitCode::SUCCESS)
}
