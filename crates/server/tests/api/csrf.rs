//! A state-changing request that authenticates with the session cookie is
//! refused when a browser says it comes from another site; bearer-token
//! calls, same-origin pages and non-browser clients are unaffected.

use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::json;

use crate::support::{PASSWORD, Response, TestApp};

backend_tests!(cross_site_cookie_requests_are_refused_and_others_are_not, the_public_url_is_the_origin_when_it_is_set,);

/// Signs in and returns the session cookie the login set.
async fn session_cookie(app: &TestApp, email: &str) -> String {
    app.account(email, "Ada").await;
    let res = app
        .client
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

/// Creates a token (a state-changing POST) with `headers`.
async fn create_token(app: &TestApp, headers: &[(&str, &str)]) -> Response {
    let mut req =
        app.client.request(Method::POST, format!("{}/api/v1/me/tokens", app.base)).json(&json!({ "name": "t" }));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    TestApp::read(req.send().await.unwrap()).await
}

async fn token_count(app: &TestApp, cookie: &str) -> usize {
    let res = app.client.get(format!("{}/api/v1/me/tokens", app.base)).header("cookie", cookie).send().await.unwrap();
    TestApp::read(res).await.expect(200)["items"].as_array().unwrap().len()
}

async fn cross_site_cookie_requests_are_refused_and_others_are_not(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = session_cookie(&app, "ada@example.org").await;
    let cookie = cookie.as_str();
    let own_origin = app.base.clone();

    for refused in [
        vec![("cookie", cookie), ("origin", "https://evil.example")],
        vec![("cookie", cookie), ("sec-fetch-site", "cross-site")],
        vec![("cookie", cookie), ("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")],
        vec![("cookie", cookie), ("origin", "null")],
        vec![("cookie", cookie), ("origin", "http://127.0.0.1:1")],
    ] {
        create_token(&app, &refused).await.problem(403, "cross_site_request");
    }
    assert_eq!(token_count(&app, cookie).await, 0, "nothing was created");
    // Logging out is a change too.
    let res = app
        .client
        .post(format!("{}/api/v1/auth/logout", app.base))
        .header("cookie", cookie)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    TestApp::read(res).await.problem(403, "cross_site_request");

    // Our own pages, and clients that are not browsers, keep working.
    create_token(&app, &[("cookie", cookie), ("origin", &own_origin), ("sec-fetch-site", "same-origin")])
        .await
        .expect(201);
    create_token(&app, &[("cookie", cookie)]).await.expect(201);
    // Reading is not refused, wherever it comes from.
    let res = app
        .client
        .get(format!("{}/api/v1/me", app.base))
        .header("cookie", cookie)
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    TestApp::read(res).await.expect(200);
    // A bearer token is not sent by a browser on its own: unaffected.
    let bearer = app.login("ada@example.org").await;
    let auth = format!("Bearer {bearer}");
    create_token(
        &app,
        &[("authorization", &auth), ("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")],
    )
    .await
    .expect(201);
    assert_eq!(token_count(&app, cookie).await, 3);
}

async fn the_public_url_is_the_origin_when_it_is_set(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.public_url = Some("https://circles.example".into())).await;
    let cookie = session_cookie(&app, "ada@example.org").await;
    let cookie = cookie.as_str();
    create_token(&app, &[("cookie", cookie), ("origin", "https://circles.example")]).await.expect(201);
    // The address the server happens to be reached at is not its public origin.
    let own_address = app.base.clone();
    create_token(&app, &[("cookie", cookie), ("origin", &own_address)]).await.problem(403, "cross_site_request");
    create_token(&app, &[("cookie", cookie), ("origin", "http://circles.example")])
        .await
        .problem(403, "cross_site_request");
}
