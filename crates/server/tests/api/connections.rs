//! Connections are bounded: one that sends nothing, dribbles a request head
//! or sits idle after its last response is closed, and the server keeps
//! answering while hundreds of them are open.

use std::time::{Duration, Instant};

use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::TestApp;

backend_tests!(idle_and_partial_header_connections_are_closed_and_the_server_keeps_answering);

const HEADER_TIMEOUT: Duration = Duration::from_secs(1);
const IDLE_TIMEOUT: Duration = Duration::from_secs(2);
/// Room for a loaded machine.
const SLACK: Duration = Duration::from_secs(3);

/// How long after `opened` the server closed `socket`.
async fn closed_after(mut socket: TcpStream, opened: Instant) -> Duration {
    let mut buf = [0u8; 1024];
    let deadline = IDLE_TIMEOUT + SLACK * 2;
    loop {
        match tokio::time::timeout(deadline, socket.read(&mut buf)).await {
            Err(_) => panic!("still open after {deadline:?}"),
            Ok(Ok(0) | Err(_)) => return opened.elapsed(),
            // The response to a complete request; keep waiting for the close.
            Ok(Ok(_)) => {}
        }
    }
}

async fn idle_and_partial_header_connections_are_closed_and_the_server_keeps_answering(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.header_read_timeout_seconds = HEADER_TIMEOUT.as_secs();
        s.idle_timeout_seconds = IDLE_TIMEOUT.as_secs();
    })
    .await;
    let address = app.base.strip_prefix("http://").unwrap().to_owned();
    let opened = Instant::now();
    let (mut silent, mut partial) = (Vec::new(), Vec::new());
    for _ in 0..150 {
        silent.push(TcpStream::connect(&address).await.unwrap());
        let mut socket = TcpStream::connect(&address).await.unwrap();
        socket.write_all(b"GET /healthz HTTP/1.1\r\nHost: circles\r\nX-Slow: ").await.unwrap();
        partial.push(socket);
    }
    // One request answered, then the connection kept alive and left idle.
    let mut kept_alive = TcpStream::connect(&address).await.unwrap();
    let kept_since = Instant::now();
    kept_alive.write_all(b"GET /healthz HTTP/1.1\r\nHost: circles\r\n\r\n").await.unwrap();

    for _ in 0..5 {
        let started = Instant::now();
        app.request(Method::GET, "/healthz", None, None).await.expect(200);
        assert!(started.elapsed() < Duration::from_secs(2), "/healthz answers while 300 connections hang");
    }

    let partial_closed = futures::future::join_all(partial.into_iter().map(|s| closed_after(s, opened))).await;
    let silent_closed = futures::future::join_all(silent.into_iter().map(|s| closed_after(s, opened))).await;
    let kept_closed = closed_after(kept_alive, kept_since).await;
    let slowest = |times: &[Duration]| times.iter().max().copied().unwrap();
    let fastest = |times: &[Duration]| times.iter().min().copied().unwrap();
    assert!(fastest(&partial_closed) >= HEADER_TIMEOUT, "a started head gets its full time");
    assert!(slowest(&partial_closed) < HEADER_TIMEOUT + SLACK, "partial heads: {:?}", slowest(&partial_closed));
    assert!(fastest(&silent_closed) >= IDLE_TIMEOUT, "silence is idleness, not a started head");
    assert!(slowest(&silent_closed) < IDLE_TIMEOUT + SLACK, "silent: {:?}", slowest(&silent_closed));
    assert!(kept_closed >= IDLE_TIMEOUT && kept_closed < IDLE_TIMEOUT + SLACK, "kept alive: {kept_closed:?}");
    // A new connection: the test client's pooled ones have idled past the
    // server's timeout too, and reusing one races its close.
    let after = reqwest::get(format!("{}/healthz", app.base)).await.expect("a new connection is answered");
    assert_eq!(after.status(), reqwest::StatusCode::OK);
}
