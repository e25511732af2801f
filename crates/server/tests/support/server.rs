//! A real `circles serve` child process for the multi-server tests, killed
//! (SIGKILL: no graceful shutdown, no flushing) when dropped.

// Each multi-server test binary uses a different part of this.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CIRCLES: &str = env!("CARGO_BIN_EXE_circles");

pub struct Server {
    pub base: String,
    pub child: Child,
}

impl Server {
    pub async fn start(db: &circles_testkit::TestDatabase) -> Self {
        Self::start_with(db, &[]).await
    }

    /// [`Server::start`] with more settings, as `CIRCLES_*` variables.
    pub async fn start_with(db: &circles_testkit::TestDatabase, settings: &[(&str, String)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(CIRCLES)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database-url", &db.url])
            .env("CIRCLES_MASTER_KEY_FILE", db.master_key_file())
            .env("CIRCLES_LOGIN_ATTEMPTS_PER_MINUTE_PER_IP", "10000")
            .env("RUST_LOG", "warn")
            .envs(settings.iter().map(|(name, value)| (format!("CIRCLES_{}", name.to_ascii_uppercase()), value)))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start circles serve");
        let server = Self { base: format!("http://127.0.0.1:{port}"), child };
        server.wait_ready().await;
        server
    }

    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(res) = reqwest::get(format!("{}/readyz", self.base)).await
                && res.status().is_success()
            {
                return;
            }
            assert!(Instant::now() < deadline, "{} did not become ready", self.base);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
