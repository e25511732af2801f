//! The `circles` command line.

mod admin;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use circles_domain::clock::SystemClock;
use clap::{Args, Parser, Subcommand};

use crate::config::{LogFormat, Overrides, Settings};
use crate::state::AppState;
use crate::{app, demo, storage};

#[derive(Debug, Parser)]
#[command(name = "circles", version, about = "Group therapy scheduling that never double-books.")]
struct Cli {
    /// A TOML file of settings (see README.md for every key).
    #[arg(long, global = true, env = "CIRCLES_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServerArgs),
    /// Run background jobs only (hold expiry, reminders, delivery), for
    /// deployments that keep them off the web servers.
    Worker(DatabaseArgs),
    /// Apply database migrations and exit.
    Migrate(DatabaseArgs),
    /// Run the server on a local SQLite file filled with demo data.
    Demo(ServerArgs),
    /// Operator tasks: organisations, people, passwords, the audit chain.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Benchmarks against a fresh database; prints JSON.
    #[command(subcommand)]
    Bench(crate::bench::BenchCommand),
}

#[derive(Debug, Args)]
struct ServerArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DatabaseArgs {
    /// `sqlite://FILE` or `postgres://USER@HOST/DB` [default: sqlite://circles.db].
    #[arg(long)]
    database_url: Option<String>,
}

impl DatabaseArgs {
    fn overrides(&self) -> Overrides {
        Overrides { listen: None, database_url: self.database_url.clone() }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `RUST_LOG` when set, else information and sqlx's warnings.
fn log_filter() -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"))
}

fn init_logging(format: LogFormat) {
    let builder = tracing_subscriber::fmt().with_env_filter(log_filter());
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// A benchmark prints its JSON report on standard output; its logs go to
/// standard error so the report stays readable by a machine.
fn init_bench_logging() {
    let _ = tracing_subscriber::fmt().with_env_filter(log_filter()).with_writer(std::io::stderr).try_init();
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = cli.config.as_deref();
    match cli.command {
        Command::Serve(args) => {
            let overrides = Overrides { listen: args.listen, ..args.database.overrides() };
            let settings = Settings::load(config, &overrides)?;
            init_logging(settings.log_format);
            serve(settings, None).await?;
        }
        Command::Demo(args) => {
            let defaults = Settings::for_demo();
            let overrides = Overrides { listen: args.listen, ..args.database.overrides() };
            let mut settings = Settings::load_with_defaults(defaults, config, &overrides)?;
            if settings.smtp_url.is_none() && settings.mail_dir.is_none() {
                settings.mail_dir = Some(demo::mail_dir(&settings.database_url));
            }
            if settings.master_key_file.is_none() {
                settings.master_key_file = Some(demo::master_key_file(&settings.database_url)?);
            }
            init_logging(settings.log_format);
            serve(settings, Some(())).await?;
        }
        Command::Worker(args) => {
            let settings = Settings::load(config, &args.overrides())?;
            init_logging(settings.log_format);
            let clock = Arc::new(SystemClock);
            let key = storage::require_master_key(&settings)?;
            let store = storage::open_with_key(&settings, clock.clone(), Some(key)).await?;
            let state = AppState::new(store, clock, settings)?;
            let delivery = crate::jobs::spawn_delivery(&state)?;
            let webhooks = crate::delivery::webhooks::spawn(crate::delivery::webhooks::WebhookWorker::new(&state));
            let jobs = crate::jobs::spawn(state);
            tracing::info!("circles worker is running jobs");
            app::shutdown_signal().await;
            jobs.abort();
            webhooks.abort();
            if let Some(delivery) = delivery {
                delivery.abort();
            }
        }
        Command::Migrate(args) => {
            let settings = Settings::load(config, &args.overrides())?;
            init_logging(settings.log_format);
            storage::open(&settings, Arc::new(SystemClock)).await?;
            println!("migrations applied to {}", settings.database_url);
        }
        Command::Admin(command) => return admin::run(command, config).await,
        Command::Bench(command) => {
            init_bench_logging();
            crate::bench::run(command).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve(settings: Settings, demo: Option<()>) -> anyhow::Result<()> {
    let clock = Arc::new(SystemClock);
    let key = storage::require_master_key(&settings)?;
    let store = storage::open_with_key(&settings, clock.clone(), Some(key)).await?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let state = AppState::new(store.clone(), clock, settings.clone())?;
    if demo.is_some() {
        let loaded = demo::load(&store, &state.passwords).await?;
        print_demo(&settings, &loaded, listener.local_addr()?);
    }
    tracing::info!(listen = %listener.local_addr()?, database = %redact(&settings.database_url), "circles is serving");
    let delivery = if settings.run_jobs { crate::jobs::spawn_delivery(&state)? } else { None };
    let jobs = settings.run_jobs.then(|| crate::jobs::spawn(state.clone()));
    let webhooks = settings
        .run_jobs
        .then(|| crate::delivery::webhooks::spawn(crate::delivery::webhooks::WebhookWorker::new(&state)));
    app::serve(listener, state, app::shutdown_signal()).await?;
    for handle in [jobs, delivery, webhooks].into_iter().flatten() {
        handle.abort();
    }
    Ok(())
}

/// Hides a password in a database URL before it is logged.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn print_demo(settings: &Settings, demo: &demo::Demo, addr: std::net::SocketAddr) {
    let state = if demo.created { "created" } else { "reused" };
    println!();
    println!("  Circles demo — {} ({state} in {})", demo::ORG_NAME, settings.database_url);
    println!("  API http://{addr}/api/v1  ·  OpenAPI http://{addr}/api/openapi.json");
    println!();
    println!("  Every demo account's password is: {}", demo::PASSWORD);
    println!();
    if let Some(key) = &settings.master_key_file {
        println!("  Clinical notes are sealed under the master key in {}", key.display());
        println!();
    }
    if let (None, Some(dir)) = (&settings.smtp_url, &settings.mail_dir) {
        println!("  E-mail is written into {} (open the .eml files; invitations carry .ics)", dir.display());
        println!();
    }
    for login in &demo.logins {
        println!("    {:<10} {:<22} {}", login.role.as_str(), login.name, login.email);
    }
    println!();
    println!("  Calendar feeds: subscribe a calendar program to a person's sessions (use webcal:// instead");
    println!("  of http:// to open one in it directly). Each start makes new links; the old ones stop working.");
    println!();
    for (login, token) in demo.logins.iter().zip(&demo.feeds) {
        println!("    {:<22} http://{addr}/ical/{token}.ics", login.name);
    }
    println!();
    println!("  Try: curl -s http://{addr}/api/v1/auth/login -H 'content-type: application/json' \\");
    println!("         -d '{{\"email\":\"{}\",\"password\":\"{}\"}}'", demo::ADMIN_EMAIL, demo::PASSWORD);
    println!();
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_in_database_urls_are_redacted() {
        assert_eq!(super::redact("postgres://app:secret@db/circles"), "postgres://app:***@db/circles");
        assert_eq!(super::redact("postgres://app@db/circles"), "postgres://app@db/circles");
        assert_eq!(super::redact("sqlite://circles.db"), "sqlite://circles.db");
    }
}
