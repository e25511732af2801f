//! `circles bench booking --target URL` against a real `circles serve` that
//! someone else started: the bench seeds its clinic through the API, races
//! the hot slot, books uncontended, reads the server's CPU from /proc, and
//! prints a JSON report whose numbers agree with what the database holds.

use std::process::Command;

use circles_testkit::{Backend, TestDatabase};
use serde_json::Value;

#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/server.rs"]
mod server;

use cluster::{CIRCLES, create_org, sign_in_admin};
use server::Server;

const HOT_SLOT: usize = 20;
const LEVELS: [usize; 2] = [1, 3];
/// Days of history the bench books for each therapist before measuring.
const HISTORY_DAYS: usize = 29;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_booking_bench_drives_a_running_server_and_reports_its_cpu() {
    let db = TestDatabase::create(Backend::Postgres).await;
    let org = create_org(&db);
    let server = Server::start(&db).await;
    let token = sign_in_admin(&reqwest::Client::new(), &server.base).await;

    let levels = LEVELS.map(|l| l.to_string()).join(",");
    let output = Command::new(CIRCLES)
        .args(["bench", "booking", "--target", &server.base, "--token", &token, "--org", &org.to_string()])
        .args(["--server-pid", &server.child.id().to_string(), "--rounds", "1", "--seconds", "1"])
        .args(["--hot-slot-requests", &HOT_SLOT.to_string(), "--levels", &levels])
        .output()
        .expect("run circles bench booking");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the bench failed: {stderr}");
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON report ({e}): {}", String::from_utf8_lossy(&output.stdout)));

    assert_eq!(report["benchmark"], "booking");
    assert_eq!(report["serving"]["mode"], "target");
    assert_eq!(report["serving"]["servers"], 1);
    assert_eq!(report["serving"]["cpu_scope"], "the target server's own process");
    // No --database-url: no scratch database, so no bare-insert baseline.
    assert_eq!(report["backend"], "unknown");
    assert_eq!(report["bare_insert"], Value::Array(Vec::new()));

    let hot = &report["hot_slot"];
    assert_eq!(hot["concurrency"], HOT_SLOT);
    assert_eq!(hot["rounds"].as_array().unwrap().len(), 1);
    let round = &hot["rounds"][0];
    let outcomes = ["successes", "conflicts", "server_errors", "other"].map(|k| round[k].as_u64().unwrap() as usize);
    assert_eq!(outcomes, [1, HOT_SLOT - 1, 0, 0], "one booking, the rest refused, no error: {round}");
    assert_eq!(hot["exactly_one_success_every_round"], true);
    assert_eq!(round["latency"]["count"], HOT_SLOT);
    assert!(positive(&round["latency"]["p99_ms"]), "{round}");
    // Twenty requests may take less than one clock tick of CPU: present, not positive.
    assert!(round["cpu"]["cpu_ms_per_op"].as_f64().is_some(), "the server's CPU is read from /proc: {round}");

    let levels = report["uncontended_bookings"].as_array().unwrap();
    let concurrency: Vec<_> = levels.iter().map(|l| l["concurrency"].as_u64().unwrap() as usize).collect();
    assert_eq!(concurrency, LEVELS);
    let mut booked = 0;
    for level in levels {
        assert_eq!(level["failures"], 0, "{level}");
        assert!(positive(&level["median_per_second"]), "{level}");
        assert!(positive(&level["cpu"]["cpu_ms_per_op"]), "{level}");
        let cores = level["cpu"]["cores_busy"].as_f64().unwrap();
        assert!(cores > 0.0 && cores <= num_cpus() + 0.5, "cores kept busy: {level}");
        booked += level["latency"]["count"].as_i64().unwrap();
    }
    assert!(booked > 0);

    // What the report counts is what the server stored: the history, the
    // hot slot's one winner, and every uncontended request (none failed).
    let therapists = LEVELS.iter().max().unwrap() + 1;
    let stored = db.scalar("SELECT COUNT(*) FROM sessions").await;
    assert_eq!(stored, (therapists * HISTORY_DAYS) as i64 + 1 + booked, "{stderr}");
    let people = db.scalar("SELECT COUNT(*) FROM people").await;
    assert_eq!(people, 1 + therapists as i64 + (HOT_SLOT + LEVELS.iter().max().unwrap()) as i64);
}

fn positive(value: &Value) -> bool {
    value.as_f64().is_some_and(|v| v > 0.0)
}

fn num_cpus() -> f64 {
    std::thread::available_parallelism().map_or(1, |n| n.get()) as f64
}
