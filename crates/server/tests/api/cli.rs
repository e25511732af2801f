//! The `circles` command line, run as a separate process against the test
//! server's database.

use std::process::Command;

use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::json;

use crate::support::TestApp;

backend_tests!(create_org_takes_the_admin_password_from_the_environment);

/// `CIRCLES_ADMIN_PASSWORD` is offered by `create-org --help`; it is not a
/// setting, so the settings loader must leave it alone.
async fn create_org_takes_the_admin_password_from_the_environment(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let password = "a long enough passphrase";
    let output = Command::new(env!("CARGO_BIN_EXE_circles"))
        .args(["admin", "create-org", "--name", "Harbour Clinic", "--timezone", "Europe/Lisbon"])
        .args(["--admin-email", "founder@harbour.example", "--admin-name", "Rui Costa"])
        .args(["--database-url", &app.db.url])
        .env_remove("CIRCLES_CONFIG")
        .env("CIRCLES_ADMIN_PASSWORD", password)
        .output()
        .expect("run circles");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "create-org succeeds: {stdout}{stderr}");
    assert!(stdout.contains("organisation Harbour Clinic"), "{stdout}");

    let login = app
        .request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({ "email": "founder@harbour.example", "password": password })),
        )
        .await
        .expect(200);
    let me = app.get("/api/v1/me", login["token"].as_str().unwrap()).await.expect(200);
    assert_eq!(me.to_string().matches("Harbour Clinic").count(), 1, "the founder administers the new clinic: {me}");
}
