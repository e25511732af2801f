//! The demo data loads on both backends, signs in with its printed
//! details, and leaves an intact audit trail; `circles demo` prints a feed
//! link per person that answers a calendar an independent parser reads.

use circles_domain::Role;
use circles_server::demo;
use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::TestApp;

backend_tests!(
    the_demo_loads_once_signs_in_and_keeps_an_intact_audit_trail,
    circles_demo_prints_feed_links_that_answer_a_parseable_calendar,
);

async fn the_demo_loads_once_signs_in_and_keeps_an_intact_audit_trail(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let loaded = demo::load(&app.store, &app.state.passwords).await.expect("demo loads");
    assert!(loaded.created);
    let again = demo::load(&app.store, &app.state.passwords).await.expect("demo reloads");
    assert!(!again.created, "a second start reuses the data");
    assert_eq!(again.org_id, loaded.org_id);

    let app = &app;
    let sign_in = |email: &'static str| async move {
        let body = json!({ "email": email, "password": demo::PASSWORD });
        let session = app.request(Method::POST, "/api/v1/auth/login", None, Some(body)).await.expect(200);
        session["token"].as_str().unwrap().to_owned()
    };
    // Every printed login works with the printed password.
    for login in &loaded.logins {
        sign_in(login.email).await;
    }
    // A second start gave every person a new feed link; the first ones stop.
    assert_eq!((loaded.feeds.len(), again.feeds.len()), (loaded.logins.len(), loaded.logins.len()));
    let first = app.client.get(format!("{}/ical/{}.ics", app.base, loaded.feeds[0])).send().await.unwrap();
    assert_eq!(first.status(), 404, "rotated at the second start");
    let now = app.client.get(format!("{}/ical/{}.ics", app.base, again.feeds[0])).send().await.unwrap();
    assert_eq!(now.status(), 200);

    let therapist = loaded.logins.iter().find(|l| l.role == Role::Therapist).unwrap();
    let schedule = app.get("/api/v1/me/schedule", &sign_in(therapist.email).await).await.expect(200);
    assert!(!schedule["items"].as_array().unwrap().is_empty(), "the coming weeks have sessions: {schedule}");
    let org = loaded.org_id;
    let groups = app.get(&format!("/api/v1/orgs/{org}/groups"), &sign_in(demo::ADMIN_EMAIL).await).await.expect(200);
    assert!(groups["items"].as_array().unwrap().len() >= 3, "a community and two therapy groups: {groups}");

    // The weekly groups have eight weeks of attendance and check-ins to look at.
    let admin = sign_in(demo::ADMIN_EMAIL).await;
    let weekly = groups["items"].as_array().unwrap().iter().find(|g| g["name"] == "Thursday Anxiety Group").unwrap();
    let over_time = format!("/api/v1/orgs/{org}/groups/{}/stats/over-time", weekly["id"].as_str().unwrap());
    let stats = app.get(&over_time, &admin).await.expect(200);
    let held: Vec<&Value> = stats["weeks"].as_array().unwrap().iter().filter(|w| w["sessions_held"] == 1).collect();
    assert_eq!(held.len(), 8, "{stats}");
    assert!(held.iter().all(|w| w["attendance_rate"].as_f64().is_some_and(|r| r > 0.5)));
    let series = |key: &str| {
        stats["check_ins"].as_array().unwrap().iter().find(|q| q["questionnaire"] == key).unwrap()["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["mean_total"].as_f64().unwrap())
            .collect::<Vec<f64>>()
    };
    let (mood, phq9) = (series("mood"), series("phq9"));
    assert_eq!(mood.len(), 8);
    assert!(phq9.len() >= 7, "the latest PHQ-9 may still be open: {phq9:?}");
    assert!(mood[7] > mood[0] && phq9[phq9.len() - 1] < phq9[0], "moods rise, PHQ-9 eases: {mood:?} {phq9:?}");

    // The drop-in session running now has people present.
    let now = jiff::Timestamp::now();
    let running =
        app.get(&format!("/api/v1/orgs/{org}/sessions?status=in_progress&limit=50"), &admin).await.expect(200);
    let drop_in = running["items"].as_array().unwrap().iter().find(|s| s["title"] == "Drop-in check-in").unwrap();
    let presence = format!("/api/v1/orgs/{org}/sessions/{}/presence", drop_in["id"].as_str().unwrap());
    let present = app.get(&presence, &admin).await.expect(200);
    assert_eq!(present["items"].as_array().map(Vec::len), Some(4), "{present} at {now}");

    let chains = app.store.verify_audit(Some(org)).await.unwrap();
    assert_eq!(chains.len(), 1);
    assert!(chains[0].events > 50, "the demo's writes are audited: {} events", chains[0].events);
    assert_eq!(chains[0].error, None);
}

/// The demo as a newcomer runs it: the printed feed link of a therapist
/// answers over HTTP with a calendar of their sessions.
async fn circles_demo_prints_feed_links_that_answer_a_parseable_calendar(backend: Backend) {
    use std::io::BufRead;

    let app = TestApp::spawn(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let database_url = match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("demo.db").display()),
        Backend::Postgres => app.db.url.clone(),
    };
    let port = crate::mail::free_port();
    let mut demo = std::process::Command::new(env!("CARGO_BIN_EXE_circles"))
        .args(["demo", "--listen", &format!("127.0.0.1:{port}"), "--database-url", &database_url])
        .env_remove("CIRCLES_CONFIG")
        .env("CIRCLES_MASTER_KEY_FILE", app.db.master_key_file())
        .env("CIRCLES_MAIL_DIR", dir.path().join("mail"))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start circles demo");
    // Read everything the demo prints, for as long as it runs (a closed pipe
    // would stop it), and hand over what came before the last hint.
    let stdout = demo.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.contains("Try: curl") {
                let _ = tx.send(std::mem::take(&mut seen));
            }
            seen.push(line);
        }
    });
    let printed = tokio::task::spawn_blocking(move || rx.recv_timeout(std::time::Duration::from_secs(300)))
        .await
        .unwrap()
        .expect("the demo starts and prints its links");
    let people = demo::logins();
    let therapist = people.iter().find(|l| l.role == Role::Therapist).unwrap().name;
    let line = printed
        .iter()
        .find(|l| l.contains(therapist) && l.contains("/ical/"))
        .unwrap_or_else(|| panic!("a feed link for {therapist} in {printed:#?}"));
    let url = line.split_whitespace().last().unwrap();
    assert!(url.starts_with(&format!("http://127.0.0.1:{port}/ical/cif_")) && url.ends_with(".ics"), "{line}");
    assert_eq!(printed.iter().filter(|l| l.contains("/ical/cif_")).count(), people.len(), "one per person");

    let answer = reqwest::get(url).await.unwrap();
    let status = answer.status();
    let content_type = answer.headers()["content-type"].to_str().unwrap().to_owned();
    let body = answer.text().await.unwrap();
    let _ = demo.kill();
    let _ = demo.wait();
    assert_eq!(status, 200, "{body}");
    assert!(content_type.starts_with("text/calendar"), "{content_type}");
    let calendar = crate::mail::inspect_ics(&body);
    let events = calendar["events"].as_array().unwrap();
    assert!(!events.is_empty(), "the therapist's coming weeks: {calendar}");
    assert!(events.iter().all(|e| e["start_by_vtimezone"] == e["start"]), "{calendar}");
    assert_eq!(calendar["timezones"], json!(["America/New_York"]), "{calendar}");
}
