use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::json;

use crate::support::{PASSWORD, TestApp};

backend_tests!(
    login_returns_a_token_that_identifies_the_account,
    login_sets_an_http_only_session_cookie_that_authenticates,
    a_wrong_password_or_unknown_email_is_refused_alike,
    logins_are_rate_limited_per_account,
    failed_logins_from_one_address_do_not_lock_the_owner_out,
    reset_password_can_revoke_api_tokens_and_says_what_it_ended,
    logout_ends_the_session,
    api_tokens_are_shown_once_and_can_be_revoked,
    requests_without_a_token_are_unauthenticated,
);

async fn login_returns_a_token_that_identifies_the_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("riverside").await;
    let me = app.get("/api/v1/me", &org.admin.token).await.expect(200);
    assert_eq!(me["account"]["email"], "admin@riverside.example");
    let memberships = me["memberships"].as_array().unwrap();
    assert_eq!(memberships.len(), 1);
    assert_eq!(memberships[0]["org_id"], org.id.as_str());
    assert_eq!(memberships[0]["role"], "admin");
    assert_eq!(memberships[0]["org_name"], "Clinic riverside");
}

async fn login_sets_an_http_only_session_cookie_that_authenticates(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.account("ada@example.org", "Ada").await;
    let res = app
        .client
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({ "email": "ada@example.org", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert!(cookie.starts_with("circles_session=cis_"), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_owned();
    let me = app.client.get(format!("{}/api/v1/me", app.base)).header("cookie", session).send().await.unwrap();
    assert_eq!(TestApp::read(me).await.expect(200)["account"]["email"], "ada@example.org");
}

async fn a_wrong_password_or_unknown_email_is_refused_alike(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.account("ada@example.org", "Ada").await;
    let wrong = app
        .request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({ "email": "ada@example.org", "password": "not the password" })),
        )
        .await
        .problem(401, "invalid_credentials");
    let unknown = app
        .request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({ "email": "eve@example.org", "password": "not the password" })),
        )
        .await
        .problem(401, "invalid_credentials");
    assert_eq!(wrong["detail"], unknown["detail"], "no hint about which part was wrong");
    let failures = app.store.audit_events(circles_domain::ids::OrgId::PLATFORM, None, 100).await.unwrap();
    assert_eq!(failures.iter().filter(|e| e.action == "login.failure").count(), 2, "failed logins are audited");
}

async fn logins_are_rate_limited_per_account(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.login_attempts_per_minute_per_account = 3).await;
    app.account("ada@example.org", "Ada").await;
    let attempt = || {
        app.request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({ "email": "ada@example.org", "password": "wrong password" })),
        )
    };
    for _ in 0..3 {
        attempt().await.problem(401, "invalid_credentials");
    }
    let limited = attempt().await;
    assert!(limited.headers.get("retry-after").is_some());
    limited.problem(429, "too_many_login_attempts");
    // Another account from the same address is not held back by Ada's limit.
    app.account("bea@example.org", "Bea").await;
    app.login("bea@example.org").await;
}

async fn failed_logins_from_one_address_do_not_lock_the_owner_out(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.login_attempts_per_minute_per_account = 3).await;
    app.account("ada@example.org", "Ada").await;
    let wrong = json!({ "email": "ada@example.org", "password": "wrong password" });
    for _ in 0..3 {
        app.request(Method::POST, "/api/v1/auth/login", None, Some(wrong.clone()))
            .await
            .problem(401, "invalid_credentials");
    }
    app.request(Method::POST, "/api/v1/auth/login", None, Some(wrong)).await.problem(429, "too_many_login_attempts");

    // The owner, from another address (the server sees 127.0.0.2), signs in.
    let elsewhere =
        reqwest::Client::builder().local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    let res = elsewhere
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({ "email": "ada@example.org", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    TestApp::read(res).await.expect(200);
}

/// `circles admin reset-password --revoke-api-tokens`, run as the operator
/// would, against the server's database.
async fn reset_password_can_revoke_api_tokens_and_says_what_it_ended(backend: Backend) {
    // Revocations elsewhere take effect at once when nothing is cached.
    let app = TestApp::spawn_with(backend, |s| s.auth_cache_seconds = 0).await;
    app.account("ada@example.org", "Ada").await;
    let session = app.login("ada@example.org").await;
    let created = app.post("/api/v1/me/tokens", &session, json!({ "name": "script" })).await.expect(201);
    let api_token = created["token"].as_str().unwrap().to_owned();
    let reset = |extra: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_circles"))
            .args(["admin", "reset-password", "--email", "ada@example.org", "--database-url", &app.db.url])
            .args(extra)
            .env_remove("CIRCLES_CONFIG")
            .env("CIRCLES_ADMIN_PASSWORD", "a brand new password")
            .env("CIRCLES_ARGON2_MEMORY_KIB", "8")
            .env("CIRCLES_ARGON2_ITERATIONS", "1")
            .output()
            .expect("circles runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };

    let kept = reset(&[]);
    assert!(kept.contains("1 login session(s) ended") && kept.contains("API tokens kept"), "{kept}");
    app.get("/api/v1/me", &session).await.problem(401, "unauthenticated");
    app.get("/api/v1/me", &api_token).await.expect(200);

    let revoked = reset(&["--revoke-api-tokens"]);
    assert!(revoked.contains("0 login session(s) ended; 1 API token(s) revoked"), "{revoked}");
    app.get("/api/v1/me", &api_token).await.problem(401, "unauthenticated");
}

async fn logout_ends_the_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.account("ada@example.org", "Ada").await;
    let token = app.login("ada@example.org").await;
    app.request(Method::POST, "/api/v1/auth/logout", Some(&token), None).await.expect(204);
    let after = app.get("/api/v1/me", &token).await.problem(401, "unauthenticated");
    assert!(after["detail"].as_str().unwrap().contains("revoked"), "says why: {after}");
}

async fn api_tokens_are_shown_once_and_can_be_revoked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.account("ada@example.org", "Ada").await;
    let session = app.login("ada@example.org").await;
    let created = app
        .post("/api/v1/me/tokens", &session, json!({ "name": "nightly export", "expires_in_days": 30 }))
        .await
        .expect(201);
    let secret = created["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("cia_"));
    assert!(created["expires_at"].is_string());

    app.get("/api/v1/me", &secret).await.expect(200);
    let listed = app.get("/api/v1/me/tokens", &session).await.expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(listed["items"][0].get("token").is_none(), "the secret is never listed");

    let id = created["id"].as_str().unwrap();
    app.request(Method::DELETE, &format!("/api/v1/me/tokens/{id}"), Some(&session), None).await.expect(204);
    app.get("/api/v1/me", &secret).await.problem(401, "unauthenticated");
}

async fn requests_without_a_token_are_unauthenticated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app.request(Method::GET, "/api/v1/me", None, None).await;
    assert_eq!(res.headers.get("www-authenticate").unwrap(), "Bearer");
    res.problem(401, "unauthenticated");
    app.request(Method::GET, "/api/v1/me", Some("cis_made-up"), None).await.problem(401, "unauthenticated");
}
