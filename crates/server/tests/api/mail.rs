//! A real SMTP server for the delivery tests (Python's aiosmtpd, started per
//! test on a free port) and an independent reader of what it received
//! (Python's MIME parser and the `icalendar` package).
//!
//! The tools come from a Python environment at `CIRCLES_TEST_PYTHON`
//! (default `/opt/circles-test-venv/bin/python`, which `.ci/run` creates).
//! Without them these tests fail, saying how to install them.

// Each test binary that includes this uses a different part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mail");

pub fn python() -> PathBuf {
    let python = std::env::var("CIRCLES_TEST_PYTHON").unwrap_or_else(|_| "/opt/circles-test-venv/bin/python".into());
    let ready = Command::new(&python)
        .args([
            "-c",
            "import aiosmtpd, icalendar, standardwebhooks; assert int(icalendar.__version__.split('.')[0]) >= 7",
        ])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ready,
        "\n\nThe delivery tests need Python with aiosmtpd, icalendar >= 7 and standardwebhooks at {python}.\n\
         Fix: python3 -m venv /opt/circles-test-venv && \
         /opt/circles-test-venv/bin/pip install 'aiosmtpd>=1.4' 'icalendar>=7' standardwebhooks\n\
         (or run .ci/run, or point CIRCLES_TEST_PYTHON at such a Python).\n"
    );
    PathBuf::from(python)
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running SMTP server that keeps every message it accepts.
pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl SmtpSink {
    pub fn start() -> Self {
        Self::start_on(free_port(), 0)
    }

    /// On `port`, hanging forever after receiving each of the first
    /// `stall_first` messages.
    pub fn start_on(port: u16, stall_first: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let child = spawn_sink(port, dir.path(), stall_first, 1);
        Self { port, dir, child }
    }

    /// `workers` processes accepting on one port, as `circles bench
    /// delivery` uses it.
    pub fn start_with_workers(workers: usize) -> Self {
        let (port, dir) = (free_port(), tempfile::tempdir().unwrap());
        let child = spawn_sink(port, dir.path(), 0, workers);
        Self { port, dir, child }
    }

    /// Stops this server and starts another on the same port, hanging after
    /// its first `stall_first` messages; what was received is kept.
    pub fn restart(&mut self, stall_first: usize) {
        self.stop();
        self.child = spawn_sink(self.port, self.dir.path(), stall_first, 1);
    }

    /// Stops the server: its port refuses connections until a restart.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, oldest first, as the independent
    /// parser reads it, with its envelope recipients under `rcpt`.
    pub fn received(&self) -> Vec<Value> {
        self.files()
            .iter()
            .map(|eml| {
                let mut message = inspect("inspect_mail.py", eml);
                let rcpt = std::fs::read_to_string(eml.with_extension("rcpt")).unwrap();
                message["rcpt"] = rcpt.lines().collect::<Vec<_>>().into();
                message
            })
            .collect()
    }

    /// The Message-ID header of every message received so far, read
    /// straight from the files (no parser process per message, so a test
    /// can count hundreds of them quickly).
    pub fn message_ids(&self) -> Vec<String> {
        self.files()
            .iter()
            .map(|eml| {
                let text = std::fs::read_to_string(eml).unwrap();
                let head = text.split("\r\n\r\n").next().unwrap_or_default();
                let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
                unfolded
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("message-id").then(|| value.trim().to_owned())
                    })
                    .unwrap_or_else(|| panic!("no Message-ID in {}", eml.display()))
            })
            .collect()
    }

    /// The files of the messages received so far, oldest first.
    fn files(&self) -> Vec<PathBuf> {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        files
    }

    /// Waits until at least `n` messages have arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        for _ in 0..200 {
            let count = std::fs::read_dir(self.dir.path())
                .unwrap()
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .count();
            if count >= n {
                return self.received();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} messages; received {:#?}", self.received());
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn_sink(port: u16, dir: &Path, stall_first: usize, workers: usize) -> Child {
    let mut child = Command::new(python())
        .arg(Path::new(SCRIPTS).join("smtp_sink.py"))
        .arg(port.to_string())
        .arg(dir)
        .args(["--stall-first", &stall_first.to_string(), "--workers", &workers.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting the SMTP sink");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.as_mut().unwrap()), &mut line).unwrap();
    assert_eq!(line.trim(), "READY", "the SMTP sink did not start");
    child
}

fn inspect(script: &str, file: &Path) -> Value {
    let out = Command::new(python()).arg(Path::new(SCRIPTS).join(script)).arg(file).output().unwrap();
    assert!(out.status.success(), "{script} failed on {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A calendar document (a feed) as the independent parser reads it.
pub fn inspect_ics(text: &str) -> Value {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    inspect("inspect_ics.py", file.path())
}
