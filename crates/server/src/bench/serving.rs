//! Where `circles bench booking` sends its requests, and what the serving
//! side spent on them: the server inside the benchmark's own process, N
//! `circles serve` processes started for the run, or a server someone else
//! already runs (`--target`).
//!
//! CPU is read from `/proc/<pid>/stat` (user + system time of the whole
//! process). Inside one process that is the server and the load generator
//! together; with `--servers` or `--target --server-pid` it is the servers'
//! own.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use circles_domain::ids::{OrgId, PersonId};
use futures::StreamExt;
use serde_json::json;

use super::harness::{Clinic, RunningServer};

/// The kernel reports process times in clock ticks of `USER_HZ`, which Linux
/// fixes at 100 for `/proc` on every architecture.
const TICKS_PER_SECOND: f64 = 100.0;

/// User + system CPU of some processes, read before and after a stretch of work.
#[derive(Debug, Clone)]
pub struct CpuMeter {
    pids: Vec<u32>,
    /// What the figure covers, said in the report.
    pub scope: &'static str,
}

impl CpuMeter {
    pub fn of(pids: Vec<u32>, scope: &'static str) -> Self {
        Self { pids, scope }
    }

    /// CPU time used so far; `None` where `/proc` cannot be read (another
    /// machine's server, or not Linux).
    pub fn used(&self) -> Option<Duration> {
        if self.pids.is_empty() {
            return None;
        }
        let mut ticks = 0u64;
        for pid in &self.pids {
            ticks += process_ticks(*pid)?;
        }
        Some(Duration::from_secs_f64(ticks as f64 / TICKS_PER_SECOND))
    }
}

/// utime + stime of `pid`: fields 14 and 15 of `/proc/<pid>/stat`, counted
/// after the command name (which may hold spaces) closes with `)`.
fn process_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // `after_name` starts at field 3 (the state).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// CPU spent between two readings, per operation, and as cores kept busy.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct CpuUse {
    pub cpu_ms_per_op: f64,
    pub cores_busy: f64,
}

impl CpuUse {
    pub fn between(before: Option<Duration>, after: Option<Duration>, ops: usize, wall: Duration) -> Option<Self> {
        let spent = after?.checked_sub(before?)?;
        Some(Self {
            cpu_ms_per_op: round2(spent.as_secs_f64() * 1000.0 / ops.max(1) as f64),
            cores_busy: round2(spent.as_secs_f64() / wall.as_secs_f64().max(f64::EPSILON)),
        })
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The servers a run talks to, kept alive until it is dropped.
pub struct Serving {
    /// Base URLs, used round-robin.
    pub bases: Vec<String>,
    pub cpu: CpuMeter,
    in_process: Option<RunningServer>,
    children: Vec<Child>,
    key_file: Option<std::path::PathBuf>,
}

impl Serving {
    /// The server inside this process, already started by the caller.
    pub fn in_process(server: RunningServer) -> Self {
        Self {
            bases: vec![server.base.clone()],
            cpu: CpuMeter::of(vec![std::process::id()], "server and load generator together (one process)"),
            in_process: Some(server),
            children: Vec::new(),
            key_file: None,
        }
    }

    /// `count` `circles serve` processes of this same binary on
    /// `database_url`, sealing under `master_key` as the seeding store does,
    /// with `settings` (`CIRCLES_*` variables) added to their environment.
    pub async fn children(
        count: usize,
        database_url: &str,
        master_key: &circles_domain::sealed::Key,
        settings: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        let key_file = std::env::temp_dir().join(format!("circles-bench-{}.key", uuid::Uuid::now_v7().simple()));
        std::fs::write(&key_file, master_key.to_hex()).context("writing the run's master key file")?;
        let exe = std::env::current_exe().context("finding the circles binary")?;
        let mut serving = Self {
            bases: Vec::new(),
            cpu: CpuMeter::of(Vec::new(), "the servers' own processes"),
            in_process: None,
            children: Vec::new(),
            key_file: Some(key_file.clone()),
        };
        for _ in 0..count {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
            let child = Command::new(&exe)
                .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database-url", database_url])
                .env("CIRCLES_MASTER_KEY_FILE", &key_file)
                .env("CIRCLES_LOGIN_ATTEMPTS_PER_MINUTE_PER_IP", "1000000")
                // As in-process: background jobs would compete with the load.
                .env("CIRCLES_RUN_JOBS", "false")
                .env("RUST_LOG", "warn")
                .envs(settings.iter().map(|(name, value)| (name, value)))
                .stdout(Stdio::null())
                .spawn()
                .context("starting circles serve")?;
            serving.cpu.pids.push(child.id());
            serving.children.push(child);
            serving.bases.push(format!("http://127.0.0.1:{port}"));
        }
        for base in &serving.bases {
            wait_ready(base).await?;
        }
        Ok(serving)
    }

    /// A server started by someone else; its CPU is read only if its
    /// process id is given (and it runs on this machine).
    pub fn remote(base: &str, pid: Option<u32>) -> Self {
        let cpu = CpuMeter::of(pid.into_iter().collect(), "the target server's own process");
        Self {
            bases: vec![base.trim_end_matches('/').to_owned()],
            cpu,
            in_process: None,
            children: Vec::new(),
            key_file: None,
        }
    }

    /// The process ids of the servers this run started.
    pub fn child_pids(&self) -> Vec<u32> {
        self.children.iter().map(Child::id).collect()
    }

    /// The base for the `n`th request: round-robin over the servers.
    pub fn base(&self, n: usize) -> &str {
        &self.bases[n % self.bases.len()]
    }

    pub fn stop(&mut self) {
        if let Some(server) = &mut self.in_process {
            server.stop();
        }
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.children.clear();
        if let Some(file) = self.key_file.take() {
            let _ = std::fs::remove_file(file);
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn wait_ready(base: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(res) = reqwest::get(format!("{base}/readyz")).await
            && res.status().is_success()
        {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "{base} did not become ready in 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Seeds a clinic into an organisation of a running server through its API
/// (`POST /orgs/{org}/people`), with an admin's token: how `--target`
/// works without touching the target's database. Addresses carry a fresh
/// run id, so a server can be benchmarked again and again.
pub async fn seed_through_api(
    http: &reqwest::Client,
    base: &str,
    org: OrgId,
    admin_token: &str,
    therapists: usize,
    clients: usize,
) -> anyhow::Result<Clinic> {
    let run = uuid::Uuid::now_v7().simple().to_string();
    let run = Arc::new(run[run.len() - 8..].to_owned());
    let add = |role: &'static str, n: usize| {
        let run = run.clone();
        futures::stream::iter(0..n)
            .map(move |i| {
                let url = format!("{base}/api/v1/orgs/{org}/people");
                let body = json!({ "email": format!("{role}{i}-{run}@bench.example"), "name": format!("{role} {i}"), "role": role });
                let request = http.post(url).bearer_auth(admin_token).json(&body);
                async move {
                    let response = request.send().await?.error_for_status()?;
                    let person: serde_json::Value = response.json().await?;
                    let id = person["id"].as_str().context("a person without an id")?;
                    anyhow::Ok(PersonId::from(id.parse::<uuid::Uuid>()?))
                }
            })
            .buffered(16)
            .collect::<Vec<_>>()
    };
    let therapists = add("therapist", therapists).await.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    let clients = add("client", clients).await.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Clinic { org, admin_token: admin_token.to_owned(), therapists, clients })
}
