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
            smtp_url: None,
            mail_from: "Circles <circles@localhost>".into(),
            mail_dir: None,
            smtp_timeout_seconds: 30,
            delivery_coalesce_seconds: 60,
            delivery_retry_seconds: 60,
            delivery_max_attempts: 16,
            delivery_lease_seconds: 300,
        }
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
                Env::prefixed("CIRCLES_")
                    .filter(|key| !NOT_SETTINGS.contains(&key.as_str()) && !key.as_str().starts_with("test_")),
            )
            .merge(Serialized::defaults(overrides));
        figment.extract().map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
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
    fn a_missing_file_is_an_error() {
        let err = Settings::load(Some(Path::new("/nonexistent/circles.toml")), &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("does not exist"));
    }
}
