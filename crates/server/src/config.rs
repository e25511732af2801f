//! Settings: built-in defaults, then an optional TOML file, then
//! `CIRCLES_*` environment variables, then command-line flags. A setting this
//! build does not know, or a value of the wrong shape, stops startup with a
//! message naming it.

use std::net::SocketAddr;
use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// `sqlite://FILE` (default) or `postgres://…`.
    pub database_url: String,
    /// The externally visible base URL, used in links (calendar feeds,
    /// e-mails) and to decide whether cookies are `Secure`.
    pub public_url: Option<String>,
    pub log_format: LogFormat,
    /// `full` syncs every commit to disk; `normal` may lose the last commits
    /// on power loss (never corrupts).
    pub sqlite_synchronous: SqliteSynchronous,
    pub sqlite_read_connections: u32,
    pub postgres_max_connections: u32,
    /// How long a login session lasts.
    pub session_hours: u32,
    pub login_attempts_per_minute_per_ip: u32,
    pub login_attempts_per_minute_per_account: u32,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// argon2id cost: memory in KiB and passes.
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    /// Run background jobs (expiry, reminders, delivery) inside `serve`.
    pub run_jobs: bool,
    /// How long a resolved token or membership is reused without asking the
    /// database again (0 disables). A token revoked on another server stops
    /// working here within this many seconds.
    pub auth_cache_seconds: u64,
    /// Who may create organisations through the API: `anyone` signed in, or
    /// only the platform's `operators` (with `circles admin create-org`).
    pub allow_org_creation: OrgCreation,
    /// Seconds a client has to send a whole request head once it started.
    pub header_read_timeout_seconds: u64,
    /// Seconds a connection may sit with no request in flight before it is
    /// closed (a streaming response is in flight for as long as it streams).
    pub idle_timeout_seconds: u64,
    /// Connections served at once; more wait to be accepted. Keep it below
    /// the process's open-file limit.
    pub max_connections: usize,
    /// Seconds between a seat freeing and its offer going out, for every
    /// organisation (their own grace delay otherwise); 0 offers at once.
    pub offer_grace_seconds: Option<u64>,
    /// Minutes between sweeps for free seats that no event recorded.
    pub waitlist_sweep_minutes: u64,
    /// Where e-mail goes: `smtp://[user:pass@]host[:port][?tls=required|opportunistic]`
    /// (STARTTLS) or `smtps://…` (TLS from the start). Unset: e-mail is
    /// written into `mail_dir` if that is set, and waits in the outbox if not.
    pub smtp_url: Option<String>,
    /// The sender of every e-mail, `Name <address>`.
    pub mail_from: String,
    /// A folder that receives every e-mail as an `.eml` file instead of SMTP.
    pub mail_dir: Option<std::path::PathBuf>,
    /// The longest one e-mail may take to send, connection included.
    pub smtp_timeout_seconds: u64,
    /// Changes to one session for one person within this many seconds go
    /// out as one message (0 sends each at once).
    pub delivery_coalesce_seconds: u64,
    /// The pause after a delivery's first failure; it doubles each time.
    pub delivery_retry_seconds: u64,
    /// Attempts per delivery before it is marked failed.
    pub delivery_max_attempts: u32,
    /// How long a worker holds a claimed delivery; one that dies mid-send
    /// leaves it to be sent again after this. Keep it well above
    /// `smtp_timeout_seconds`, or a slow send may be made twice.
    pub delivery_lease_seconds: u64,
    /// Where texts go: an HTTP(S) SMS gateway that takes a JSON POST of
    /// `{"id", "to", "from", "text"}`. Unset: texts wait in the outbox.
    pub sms_gateway_url: Option<String>,
    /// The gateway's credential, sent as `Authorization: Bearer …`; never
    /// logged or shown.
    pub sms_gateway_token: Option<Secret>,
    /// The sender name or number the gateway shows on texts.
    pub sms_from: String,
    /// The longest one text may take to hand to the gateway.
    pub sms_timeout_seconds: u64,
    /// Fetches of one calendar feed link allowed per minute; calendars
    /// refresh hourly, so more means a leaked link or a broken client.
    pub feed_fetches_per_minute: u32,
    /// Let webhooks call loopback and private-network addresses. Off: a
    /// webhook could otherwise reach services that trust this server.
    pub allow_private_webhooks: bool,
    /// A file holding the master key (32 random bytes as 64 hex digits or
    /// base64) that every organisation's data key is wrapped under, so
    /// clinical text is sealed at rest. Keep it outside the database and
    /// its backups: without it clinical text cannot be read.
    pub master_key_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OrgCreation {
    Anyone,
    Operators,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SqliteSynchronous {
    Full,
    Normal,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://circles.db".into(),
            public_url: None,
            log_format: LogFormat::Pretty,
            sqlite_synchronous: SqliteSynchronous::Full,
            sqlite_read_connections: 8,
            postgres_max_connections: 16,
            session_hours: 12,
            login_attempts_per_minute_per_ip: 30,
            login_attempts_per_minute_per_account: 10,
            max_body_bytes: 1024 * 1024,
            // OWASP's recommended argon2id baseline.
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            run_jobs: true,
            auth_cache_seconds: 5,
            // An organisation's admin adds people to it: on a shared server
            // that is not something every account should be able to become.
            allow_org_creation: OrgCreation::Operators,
            header_read_timeout_seconds: 10,
            idle_timeout_seconds: 60,
            max_connections: 1000,
            offer_grace_seconds: None,
            waitlist_sweep_minutes: 60,
            smtp_url: None,
            mail_from: "Circles <circles@localhost>".into(),
            mail_dir: None,
            smtp_timeout_seconds: 30,
            delivery_coalesce_seconds: 60,
            delivery_retry_seconds: 60,
            delivery_max_attempts: 16,
            delivery_lease_seconds: 300,
            sms_gateway_url: None,
            sms_gateway_token: None,
            sms_from: "Circles".into(),
            sms_timeout_seconds: 10,
            feed_fetches_per_minute: 30,
            allow_private_webhooks: false,
            master_key_file: None,
        }
    }
}

/// A credential from the settings: read like any setting, but shown nowhere
/// (`Debug` prints a placeholder), so logging the settings leaks nothing.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Environment variables under the `CIRCLES_` prefix that are not settings.
const NOT_SETTINGS: &[&str] = &["config", "admin_password"];

/// Values given on the command line, which win over every other source.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

impl Settings {
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Self> {
        Self::load_with_defaults(Settings::default(), file, overrides)
    }

    pub fn load_with_defaults(defaults: Settings, file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(defaults));
        if let Some(path) = file {
            if !path.exists() {
                anyhow::bail!("config file {} does not exist", path.display());
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment
            .merge(
                // Keys keep the environment's case (`ADMIN_PASSWORD`): compare without it.
                Env::prefixed("CIRCLES_").filter(|key| {
                    let key = key.as_str().to_ascii_lowercase();
                    !NOT_SETTINGS.contains(&key.as_str()) && !key.starts_with("test_")
                }),
            )
            .merge(Serialized::defaults(overrides));
        figment.extract().map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
    }

    /// The defaults of `circles demo`: its own file, and anyone may create
    /// organisations, since the demo is for trying Circles out.
    pub fn for_demo() -> Self {
        Self {
            database_url: "sqlite://circles-demo.db".into(),
            allow_org_creation: OrgCreation::Anyone,
            ..Settings::default()
        }
    }

    pub fn connection_limits(&self) -> crate::http::server::Limits {
        crate::http::server::Limits {
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout_seconds.max(1)),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout_seconds.max(1)),
            max_connections: self.max_connections.max(1),
        }
    }

    pub fn cookies_secure(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_toml(text: &str) -> anyhow::Result<Settings> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("circles.toml");
        std::fs::write(&path, text).unwrap();
        Settings::load(Some(&path), &Overrides::default())
    }

    #[test]
    fn a_file_sets_values() {
        let s = load_toml("listen = \"0.0.0.0:9000\"\ndatabase_url = \"postgres://db/circles\"\n").unwrap();
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.database_url, "postgres://db/circles");
        assert_eq!(s.session_hours, 12, "unset values keep their defaults");
    }

    #[test]
    fn an_unknown_setting_is_an_error_naming_it() {
        let err = load_toml("listne = \"0.0.0.0:9000\"\n").unwrap_err().to_string();
        assert!(err.contains("listne"), "{err}");
    }

    #[test]
    fn a_malformed_value_is_an_error_naming_it() {
        let err = load_toml("listen = \"not an address\"\n").unwrap_err().to_string();
        assert!(err.contains("listen"), "{err}");
    }

    #[test]
    fn command_line_values_win() {
        let overrides = Overrides { listen: Some("127.0.0.1:1234".parse().unwrap()), database_url: None };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("circles.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:9000\"\n").unwrap();
        let s = Settings::load(Some(&path), &overrides).unwrap();
        assert_eq!(s.listen.port(), 1234);
    }

    #[test]
    fn organisations_are_created_by_operators_unless_configured() {
        assert_eq!(Settings::default().allow_org_creation, OrgCreation::Operators);
        assert_eq!(Settings::for_demo().allow_org_creation, OrgCreation::Anyone);
        let s = load_toml("allow_org_creation = \"anyone\"\n").unwrap();
        assert_eq!(s.allow_org_creation, OrgCreation::Anyone);
        let err = load_toml("allow_org_creation = \"everybody\"\n").unwrap_err().to_string();
        assert!(err.contains("allow_org_creation"), "{err}");
    }

    #[test]
    fn the_sms_gateway_token_is_read_but_never_shown() {
        let s =
            load_toml("sms_gateway_url = \"https://sms.example/send\"\nsms_gateway_token = \"tok_s3cret\"\n").unwrap();
        assert_eq!(s.sms_gateway_token.as_ref().map(Secret::expose), Some("tok_s3cret"));
        let shown = format!("{s:?}");
        assert!(!shown.contains("tok_s3cret") && shown.contains("sms_gateway_token: Some(Secret(…))"), "{shown}");
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let err = Settings::load(Some(Path::new("/nonexistent/circles.toml")), &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("does not exist"));
    }
}
