//! A webhook endpoint for the tests: `tests/mail/webhook_receiver.py` on a
//! free port, which verifies every call with the independent
//! `standardwebhooks` package and records it.

// Each test binary that includes this uses a different part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::mail::{SCRIPTS, free_port, python};

pub struct Receiver {
    port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl Receiver {
    pub fn start() -> Self {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(python())
            .arg(Path::new(SCRIPTS).join("webhook_receiver.py"))
            .arg(port.to_string())
            .arg(dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the webhook receiver");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.as_mut().unwrap()), &mut line).unwrap();
        assert_eq!(line.trim(), "READY");
        Self { port, dir, child }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks", self.port)
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn trust(&self, secrets: &[&str]) {
        std::fs::write(self.file("secrets"), secrets.join("\n")).unwrap();
    }

    pub fn fail_next(&self, n: usize) {
        std::fs::write(self.file("fail"), n.to_string()).unwrap();
    }

    pub fn calls(&self) -> Vec<Value> {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files.iter().map(|f| serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap()).collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
