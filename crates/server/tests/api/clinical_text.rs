//! Clinical free text is sealed at rest: what is written through the API
//! into a clinical field is nowhere in the database's bytes, reads back
//! through the API, does not open in another row, survives a key rotation
//! under load, and is gone for good once its organisation's keys are.

use std::process::Command;

use circles_domain::ids::{OrgId, WaitlistEntryId};
use circles_domain::sealed::{ClinicalField, UNREADABLE};
use circles_store::model::AuditCtx;
use circles_testkit::{Backend, backend_tests};
use jiff::SignedDuration;
use reqwest::Method;
use serde_json::{Value, json};

use crate::group_sessions::{proposal, respond, sessions};
use crate::secrets_at_rest::{database_bytes, occurrences};
use crate::server::Server;
use crate::support::{Login, Org, TestApp};

backend_tests!(
    every_clinical_field_is_sealed_at_rest_and_reads_back_through_the_api,
    text_stored_before_sealing_reads_as_it_is_until_rotation_seals_it,
    a_ciphertext_moved_to_another_row_reads_as_unreadable_and_the_audit_chain_holds,
    rotation_under_load_leaves_nothing_under_the_old_key,
    a_retired_key_still_named_by_a_value_that_does_not_open_is_kept_until_a_resumed_rotation_reseals_it,
    shredding_an_organisations_keys_needs_confirmation_and_makes_its_text_unreadable,
    a_shredding_by_the_cli_reaches_a_running_server_at_once,
    serve_without_a_master_key_says_where_it_is_expected,
);

fn waitlist(org: &Org) -> String {
    format!("/api/v1/orgs/{}/waitlist", org.id)
}

async fn waitlisted(app: &TestApp, org: &Org, client: &str, notes: &str) -> String {
    let body = json!({
        "client_id": client, "target": "ONE_ON_ONE", "therapist_id": org.therapist.person_id, "notes": notes,
    });
    app.post(&waitlist(org), &org.admin.token, body).await.expect(201)["id"].as_str().unwrap().to_owned()
}

async fn entry_notes(app: &TestApp, org: &Org, id: &str) -> Value {
    app.get(&format!("{}/{id}", waitlist(org)), &org.admin.token).await.expect(200)["notes"].clone()
}

fn circles(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_circles"))
        .args(args)
        .env_remove("CIRCLES_CONFIG")
        .env_remove("CIRCLES_MASTER_KEY_FILE")
        .output()
        .expect("run circles")
}

/// A group session two hours from now that `org.client` has a seat on;
/// returns its id.
async fn joined_session(app: &TestApp, org: &Org, group: &str) -> String {
    let body = proposal(org, group, &app.hours_from_now(2), &[&org.therapist]);
    let session = app.post(&sessions(org), &org.moderator.token, body).await.expect(201);
    respond(app, org, &org.therapist, &session, "accept").await.expect(200);
    let id = session["id"].as_str().unwrap().to_owned();
    let path = format!("{}/{id}/join", sessions(org));
    app.request(Method::POST, &path, Some(&org.client.token), None).await.expect(200);
    id
}

/// `org.client` answers a check-in on the session with `text`; returns
/// where the session's answers are read.
async fn checked_in(app: &TestApp, org: &Org, session: &str, text: &str) -> String {
    let custom = json!({
        "title": "Before we meet",
        "items": [{"prompt": "Anything we should know?", "kind": "text", "required": true}],
    });
    let path = format!("/api/v1/orgs/{}/questionnaires", org.id);
    let questionnaire = app.post(&path, &org.therapist.token, custom).await.expect(201);
    let check_ins = format!("{}/{session}/check-ins", sessions(org));
    let attach = json!({ "questionnaire_id": questionnaire["id"], "phase": "BEFORE" });
    let check_in = app.post(&check_ins, &org.therapist.token, attach).await.expect(201);
    let answers = format!("{check_ins}/{}/answers", check_in["id"].as_str().unwrap());
    app.post(&answers, &org.client.token, json!({ "answers": { "q1": text } })).await.expect(200);
    answers
}

/// Once the session has run, its therapist marks `org.client` attended
/// with `note`.
async fn mark_attended(app: &TestApp, org: &Org, session: &str, note: &str) {
    app.clock.advance(SignedDuration::from_hours(4));
    let sheet = json!([{ "client_id": org.client.person_id, "status": "ATTENDED", "note": note }]);
    let path = format!("{}/{session}/attendance", sessions(org));
    app.request(Method::PUT, &path, Some(&org.therapist.token), Some(sheet)).await.expect(200);
}

async fn membership_of(app: &TestApp, org: &Org, group: &str, client: &Login) -> Value {
    let members = app.get(&format!("/api/v1/orgs/{}/groups/{group}/members", org.id), &org.therapist.token).await;
    members.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["client_id"] == client.person_id.as_str())
        .expect("a member")
        .clone()
}

async fn every_clinical_field_is_sealed_at_rest_and_reads_back_through_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("sealed").await;
    let group = app.community(&org, json!({}), &[]).await;
    let [screening, attendance, waiting, away, check_in, exit] =
        ["screening", "attendance", "waitlist", "timeoff", "checkin", "exit"]
            .map(|field| format!("Marker-{field}-panic-attacks-q7z"));

    let intake = json!({
        "name": "Intake circle", "type": "COMMUNITY", "modality": "VIRTUAL", "virtual_link": "https://meet.example/in",
        "requires_screening": true, "moderator_ids": [org.moderator.person_id],
        "facilitator_ids": [org.therapist.person_id],
    });
    let intake = app.post(&format!("/api/v1/orgs/{}/groups", org.id), &org.admin.token, intake).await.expect(201);
    let intake = intake["id"].as_str().unwrap().to_owned();
    assert_eq!(app.enrol(&org, &intake, &org.client.person_id).await["status"], "PENDING_SCREENING");
    let membership = membership_of(&app, &org, &intake, &org.client).await;
    let member_path = format!("/api/v1/orgs/{}/groups/{intake}/members/{}", org.id, membership["id"].as_str().unwrap());
    let screened = json!({ "screening": { "notes": screening, "approved": true } });
    app.request(Method::PATCH, &member_path, Some(&org.therapist.token), Some(screened)).await.expect(200);
    let session = joined_session(&app, &org, &group).await;
    let answers = checked_in(&app, &org, &session, &check_in).await;
    mark_attended(&app, &org, &session, &attendance).await;
    let graduated = json!({ "status": "GRADUATED", "exit_reason": exit });
    let left = app.request(Method::PATCH, &member_path, Some(&org.moderator.token), Some(graduated)).await.expect(200);
    assert_eq!(left["membership"]["exit_reason"], exit.as_str());
    let entry = waitlisted(&app, &org, &org.client.person_id, &waiting).await;
    let time_off = json!({
        "therapist_id": org.therapist.person_id, "type": "SICK", "reason": away,
        "starts_at": "2027-03-02T00:00:00-05:00", "ends_at": "2027-03-03T00:00:00-05:00", "auto_reassign": false,
    });
    let away_id = app.post(&format!("/api/v1/orgs/{}/time-off", org.id), &org.admin.token, time_off).await.expect(201)
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Read back through the API, as written.
    let member = membership_of(&app, &org, &intake, &org.client).await;
    assert_eq!(member["screening"]["notes"], screening.as_str());
    assert_eq!(member["exit_reason"], exit.as_str());
    let read = app.get(&format!("{}/{session}", sessions(&org)), &org.therapist.token).await.expect(200);
    assert_eq!(read["seats"][0]["note"], attendance.as_str());
    let read = app.get(&answers, &org.therapist.token).await.expect(200);
    assert!(read.to_string().contains(&check_in), "{read}");
    assert_eq!(entry_notes(&app, &org, &entry).await, waiting.as_str());
    let read = app.get(&format!("/api/v1/orgs/{}/time-off/{away_id}", org.id), &org.admin.token).await.expect(200);
    assert_eq!(read["reason"], away.as_str());

    // Nowhere in the database's bytes; sealed values are there instead.
    let bytes = database_bytes(&app);
    for marker in [&screening, &attendance, &waiting, &away, &check_in, &exit] {
        assert_eq!(occurrences(&bytes, marker), 0, "{marker} is stored in the clear");
    }
    for field in ClinicalField::ALL {
        let (table, column) = (field.table(), field.column());
        let sealed = app.db.scalar(&format!("SELECT COUNT(*) FROM {table} WHERE {column} LIKE 'v1:1:%'")).await;
        assert_eq!(sealed, 1, "{table}.{column} holds one sealed value");
    }
}

async fn text_stored_before_sealing_reads_as_it_is_until_rotation_seals_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("legacy").await;
    let group = app.community(&org, json!({}), &[]).await;
    let member = membership_of(&app, &org, &group, &org.client).await;
    let member_id = member["id"].as_str().unwrap().to_owned();
    // An exit reason written before exit reasons were sealed.
    app.db
        .execute_raw(&format!(
            "UPDATE group_memberships SET exit_reason = 'Moved to Ohio for work' WHERE id = '{member_id}'"
        ))
        .await;
    assert_eq!(membership_of(&app, &org, &group, &org.client).await["exit_reason"], "Moved to Ohio for work");

    let report = app.store.rotate_data_keys(&AuditCtx::operator(), false, 10).await.expect("rotation");
    let resealed: u64 =
        report.resealed.iter().filter(|(place, _)| place == "group_memberships.exit_reason").map(|(_, n)| n).sum();
    assert_eq!(resealed, 1, "{report:?}");
    // (The rows no longer hold it; a page the database freed may, until it is reused.)
    assert_eq!(app.db.scalar("SELECT COUNT(*) FROM group_memberships WHERE exit_reason LIKE '%Ohio%'").await, 0);
    assert_eq!(app.db.scalar("SELECT COUNT(*) FROM group_memberships WHERE exit_reason LIKE 'v1:%'").await, 1);
    assert_eq!(membership_of(&app, &org, &group, &org.client).await["exit_reason"], "Moved to Ohio for work");
}

async fn a_ciphertext_moved_to_another_row_reads_as_unreadable_and_the_audit_chain_holds(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("swap").await;
    let other = app.person(&org.id, &org.admin.token, "other@swap.example", "client").await;
    let first = waitlisted(&app, &org, &org.client.person_id, "Worried about relapse").await;
    let second = waitlisted(&app, &org, &other.person_id, "Asked for a woman therapist").await;

    // Someone with write access to the database swaps the two notes.
    app.db
        .execute_raw(
            "CREATE TEMP TABLE swapped AS SELECT id, notes FROM waitlist_entries WHERE notes IS NOT NULL; \
             UPDATE waitlist_entries SET notes = (SELECT s.notes FROM swapped s WHERE s.id <> waitlist_entries.id) \
             WHERE notes IS NOT NULL",
        )
        .await;

    for id in [&first, &second] {
        assert_eq!(entry_notes(&app, &org, id).await, UNREADABLE, "a moved note does not open in its new row");
    }
    let listed = app.get(&waitlist(&org), &org.admin.token).await.expect(200);
    assert!(listed["items"].as_array().unwrap().iter().all(|e| e["notes"] == UNREADABLE), "{listed}");
    // Each of those reads is in the audit trail, and the trail is intact.
    let verified = circles(&["admin", "audit-verify", "--database-url", &app.db.url]);
    let out = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.status.success(), "{out}{}", String::from_utf8_lossy(&verified.stderr));
    assert!(out.contains(&format!("ok      {}", org.id)), "{out}");
}

async fn rotation_under_load_leaves_nothing_under_the_old_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("rotate").await;
    let clients = app.clients(&org.id, 24).await;
    for (i, client) in clients.iter().take(12).enumerate() {
        waitlisted(&app, &org, client, &format!("written before the rotation {i}")).await;
    }
    assert_eq!(app.db.scalar("SELECT COUNT(*) FROM waitlist_entries WHERE notes LIKE 'v1:1:%'").await, 12);

    // One row per transaction, so the rotation runs as long as it can.
    let store = app.store.clone();
    let rotation = tokio::spawn(async move { store.rotate_data_keys(&AuditCtx::operator(), false, 1).await });
    for (i, client) in clients.iter().enumerate().skip(12) {
        let booking = json!({
            "starts_at": app.hours_from_now(24 + i as i64), "duration_minutes": 50,
            "therapist_ids": [org.therapist.person_id], "client_ids": [client],
        });
        app.post(&sessions(&org), &org.admin.token, booking).await.expect(201);
        waitlisted(&app, &org, client, &format!("written during the rotation {i}")).await;
    }
    let report = rotation.await.expect("rotation task").expect("rotation");
    assert!(report.new_keys >= 1, "{report:?}");
    assert!(report.batches >= 12, "{report:?}");

    for field in ClinicalField::ALL {
        let (table, column) = (field.table(), field.column());
        let old = app.db.scalar(&format!("SELECT COUNT(*) FROM {table} WHERE {column} LIKE 'v1:1:%'")).await;
        assert_eq!(old, 0, "{table}.{column} still has values under the old key");
    }
    assert_eq!(app.db.scalar("SELECT COUNT(*) FROM waitlist_entries WHERE notes LIKE 'v1:2:%'").await, 24);
    // The old key is gone in the same run; the new one is all there is.
    assert!(report.destroyed_keys >= 1 && report.kept_keys == 0, "{report:?}");
    assert_eq!(keys_of(&app, &org).await, [(2, "active".to_owned())]);
    let listed = app.get(&waitlist(&org), &org.admin.token).await.expect(200);
    let notes: Vec<&str> = listed["items"].as_array().unwrap().iter().filter_map(|e| e["notes"].as_str()).collect();
    assert_eq!(notes.len(), 24);
    assert!(notes.iter().all(|n| n.starts_with("written")), "{notes:?}");
}

/// The organisation's data keys as stored: version and state.
async fn keys_of(app: &TestApp, org: &Org) -> Vec<(i64, String)> {
    let mut keys = Vec::new();
    for state in ["active", "retired"] {
        for version in 1..=3 {
            let query = format!(
                "SELECT COUNT(*) FROM data_keys WHERE org_id = '{}' AND version = {version} AND state = '{state}'",
                org.id
            );
            if app.db.scalar(&query).await == 1 {
                keys.push((version, state.to_owned()));
            }
        }
    }
    keys.sort();
    keys
}

const SWAP_NOTES: &str = "CREATE TEMP TABLE swapped AS SELECT id, notes FROM waitlist_entries WHERE notes IS NOT NULL; \
     UPDATE waitlist_entries SET notes = (SELECT s.notes FROM swapped s WHERE s.id <> waitlist_entries.id) \
     WHERE notes IS NOT NULL; DROP TABLE swapped";

async fn a_retired_key_still_named_by_a_value_that_does_not_open_is_kept_until_a_resumed_rotation_reseals_it(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("kept").await;
    let other = app.person(&org.id, &org.admin.token, "other@kept.example", "client").await;
    let first = waitlisted(&app, &org, &org.client.person_id, "Grieving a parent").await;
    let second = waitlisted(&app, &org, &other.person_id, "Shift work, evenings only").await;
    app.db.execute_raw(SWAP_NOTES).await;

    // The moved notes open under no key, so the rotation cannot re-seal them and keeps the key they name.
    let report = app.store.rotate_data_keys(&AuditCtx::operator(), false, 10).await.expect("rotation");
    assert_eq!((report.unreadable, report.destroyed_keys, report.kept_keys), (2, 0, 1), "{report:?}");
    assert_eq!(keys_of(&app, &org).await, [(1, "retired".to_owned()), (2, "active".to_owned())]);
    assert_eq!(entry_notes(&app, &org, &first).await, UNREADABLE);

    // Put back where they belong, they open again; a resumed rotation re-seals them and destroys the old key.
    app.db.execute_raw(SWAP_NOTES).await;
    assert_eq!(entry_notes(&app, &org, &first).await, "Grieving a parent");
    let resumed = Command::new(env!("CARGO_BIN_EXE_circles"))
        .args(["admin", "rotate-keys", "--resume", "--database-url", &app.db.url])
        .env_remove("CIRCLES_CONFIG")
        .env("CIRCLES_MASTER_KEY_FILE", app.db.master_key_file())
        .output()
        .expect("run circles");
    let out = String::from_utf8_lossy(&resumed.stdout);
    assert!(resumed.status.success(), "{out}{}", String::from_utf8_lossy(&resumed.stderr));
    assert!(
        out.contains("0 organisation(s) given a new data key") && out.contains("1 old data key(s) destroyed"),
        "{out}"
    );
    assert_eq!(keys_of(&app, &org).await, [(2, "active".to_owned())]);
    assert_eq!(app.db.scalar("SELECT COUNT(*) FROM waitlist_entries WHERE notes LIKE 'v1:2:%'").await, 2);
    assert_eq!(entry_notes(&app, &org, &first).await, "Grieving a parent");
    assert_eq!(entry_notes(&app, &org, &second).await, "Shift work, evenings only");
}

async fn shredding_an_organisations_keys_needs_confirmation_and_makes_its_text_unreadable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("shred").await;
    let kept = app.org("kept").await;
    let entry = waitlisted(&app, &org, &org.client.person_id, "History of self-harm").await;
    let other = waitlisted(&app, &kept, &kept.client.person_id, "Prefers evenings").await;

    let refused = circles(&["admin", "shred-org-key", "--org", &org.id, "--database-url", &app.db.url]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes-destroy-clinical-text"));
    assert_eq!(entry_notes(&app, &org, &entry).await, "History of self-harm", "nothing was destroyed");

    let shred =
        ["admin", "shred-org-key", "--org", &org.id, "--yes-destroy-clinical-text", "--database-url", &app.db.url];
    let shredded = circles(&shred);
    let out = String::from_utf8_lossy(&shredded.stdout);
    assert!(shredded.status.success(), "{out}{}", String::from_utf8_lossy(&shredded.stderr));
    assert!(out.contains("1 data key(s)"), "{out}");

    // A server started after the shredding (no keys cached) reads the marker.
    let fresh = app.db.store(app.clock.clone()).await;
    let org_id = OrgId(org.id.parse().unwrap());
    let read = fresh.entry(&AuditCtx::operator(), org_id, WaitlistEntryId(entry.parse().unwrap())).await.unwrap();
    assert_eq!(read.notes.as_deref(), Some(UNREADABLE));
    // This server's cache goes too once it shreds: the API says the same, not a 500.
    app.store.shred_org_keys(&AuditCtx::operator(), org_id).await.unwrap();
    assert_eq!(entry_notes(&app, &org, &entry).await, UNREADABLE);
    // Other organisations are untouched, and new notes get a new key.
    assert_eq!(entry_notes(&app, &kept, &other).await, "Prefers evenings");
    let newcomer = app.person(&org.id, &org.admin.token, "newcomer@shred.example", "client").await;
    let again = waitlisted(&app, &org, &newcomer.person_id, "Written after").await;
    assert_eq!(entry_notes(&app, &org, &again).await, "Written after");
}

async fn a_shredding_by_the_cli_reaches_a_running_server_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("instant").await;
    let entry = waitlisted(&app, &org, &org.client.person_id, "Night terrors since March").await;
    // Another process serving the same database, with the organisation's key in its cache.
    let server = Server::start(&app.db).await;
    let read = || async {
        let url = format!("{}{}/{entry}", server.base, waitlist(&org));
        let response = reqwest::Client::new().get(url).bearer_auth(&org.admin.token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()["notes"].clone()
    };
    assert_eq!(read().await, "Night terrors since March");
    assert_eq!(read().await, "Night terrors since March");

    let shred =
        ["admin", "shred-org-key", "--org", &org.id, "--yes-destroy-clinical-text", "--database-url", &app.db.url];
    let shredded = circles(&shred);
    assert!(shredded.status.success(), "{}", String::from_utf8_lossy(&shredded.stderr));

    // The very next read through the running server, without waiting.
    assert_eq!(read().await, UNREADABLE);
}

async fn serve_without_a_master_key_says_where_it_is_expected(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let serve = ["serve", "--listen", "127.0.0.1:0", "--database-url", &app.db.url];
    let refused = circles(&serve);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(err.contains("master_key_file") && err.contains("CIRCLES_MASTER_KEY_FILE"), "{err}");

    let missing = app.db.master_key_file().with_file_name("absent.key");
    let refused = Command::new(env!("CARGO_BIN_EXE_circles"))
        .args(serve)
        .env_remove("CIRCLES_CONFIG")
        .env("CIRCLES_MASTER_KEY_FILE", &missing)
        .output()
        .expect("run circles");
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(err.contains(&missing.display().to_string()), "{err}");
}
