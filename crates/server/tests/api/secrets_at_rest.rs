//! Secrets are stored only as hashes: a response that shows a secret once
//! (an API token, a login session) is not kept for Idempotency-Key replay,
//! and the secret appears nowhere in the database's files.

use circles_testkit::{Backend, backend_tests};
use serde_json::json;

use crate::support::{PASSWORD, Response, TestApp};

backend_tests!(a_secret_shown_once_is_not_stored_for_replay);

async fn post_with_key(app: &TestApp, path: &str, token: &str, key: &str, body: serde_json::Value) -> Response {
    let req =
        app.client.post(format!("{}{path}", app.base)).bearer_auth(token).header("idempotency-key", key).json(&body);
    TestApp::read(req.send().await.unwrap()).await
}

/// Every byte the database holds: the SQLite file with its write-ahead log,
/// or a PostgreSQL dump of the whole database.
pub(crate) fn database_bytes(app: &TestApp) -> Vec<u8> {
    let url = &app.db.url;
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut bytes = std::fs::read(path).expect("database file");
        for suffix in ["-wal", "-journal"] {
            if let Ok(more) = std::fs::read(format!("{path}{suffix}")) {
                bytes.extend(more);
            }
        }
        bytes
    } else {
        let dump = std::process::Command::new("pg_dump").args(["--data-only", url]).output().expect("pg_dump runs");
        assert!(dump.status.success(), "pg_dump: {}", String::from_utf8_lossy(&dump.stderr));
        dump.stdout
    }
}

/// Occurrences of `secret` in `haystack`, as text or as the hex that
/// binary columns are dumped in.
pub(crate) fn occurrences(haystack: &[u8], secret: &str) -> usize {
    let hex = hex::encode(secret);
    let text = String::from_utf8_lossy(haystack).to_lowercase();
    [secret.to_lowercase(), hex].iter().map(|needle| text.matches(needle.as_str()).count()).sum()
}

async fn a_secret_shown_once_is_not_stored_for_replay(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.account("ada@example.org", "Ada").await;
    let session = app.login("ada@example.org").await;

    let created = post_with_key(&app, "/api/v1/me/tokens", &session, "token-1", json!({ "name": "export" })).await;
    let token = created.expect(201)["token"].as_str().unwrap().to_owned();
    let again = post_with_key(&app, "/api/v1/me/tokens", &session, "token-1", json!({ "name": "export" })).await;
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    again.problem(409, "idempotent_secret_not_replayable");
    let listed = app.get("/api/v1/me/tokens", &session).await.expect(200);
    let names: Vec<_> = listed["items"].as_array().unwrap().iter().map(|t| t["name"].clone()).collect();
    assert_eq!(names, [json!("export")], "the replay created no second token");
    app.get("/api/v1/me", &token).await.expect(200);

    // A login sent with a key by someone already signed in: same rule.
    let login = json!({ "email": "ada@example.org", "password": PASSWORD });
    let second = post_with_key(&app, "/api/v1/auth/login", &session, "login-1", login.clone()).await;
    let second_session = second.expect(200)["token"].as_str().unwrap().to_owned();
    post_with_key(&app, "/api/v1/auth/login", &session, "login-1", login)
        .await
        .problem(409, "idempotent_secret_not_replayable");

    // A calendar feed link: kept as a hash, not replayable either.
    let feed = post_with_key(&app, "/api/v1/me/feeds", &session, "feed-1", json!({})).await;
    let feed_token = feed.expect(201)["token"].as_str().unwrap().to_owned();
    post_with_key(&app, "/api/v1/me/feeds", &session, "feed-1", json!({}))
        .await
        .problem(409, "idempotent_secret_not_replayable");

    let bytes = database_bytes(&app);
    assert!(occurrences(&bytes, "export") > 0, "the search finds what is stored");
    for secret in [&token, &session, &second_session, &feed_token] {
        assert_eq!(occurrences(&bytes, secret), 0, "{secret} is stored somewhere");
    }
}
