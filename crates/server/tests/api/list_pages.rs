//! Every list reads in pages: a small `limit` walks the whole list, each
//! item once and in the list's order, by following `next_cursor`; a cursor
//! the list never gave out is refused by name.

use circles_testkit::{Backend, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::TestApp;

backend_tests!(
    people_groups_members_waitlist_offers_deliveries_and_audit_page_with_next_cursor,
    every_listing_states_its_page_bounds_and_cursor_form,
    tokens_feeds_invitations_memberships_and_webhooks_page_with_next_cursor,
);

/// The values of `key` on one page.
pub fn keys(page: &Value, key: &str) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|item| item[key].to_string()).collect()
}

/// `path` (which may carry a query already) with `more` added to its query.
pub fn with(path: &str, more: &str) -> String {
    let joint = if path.contains('?') { '&' } else { '?' };
    format!("{path}{joint}{more}")
}

/// Reads every page of `path`, `limit` items at a time, and checks the
/// pages against the list read at once: every item once, in order, over
/// more than one page.
pub async fn walks_whole(app: &TestApp, token: &str, path: &str, key: &str, limit: usize) {
    walks_pages(app, token, path, key, limit, 500).await;
}

/// [`walks_whole`] for a list whose longest page is `most` items.
pub async fn walks_pages(app: &TestApp, token: &str, path: &str, key: &str, limit: usize, most: usize) {
    let whole = keys(&app.get(&with(path, &format!("limit={most}")), token).await.expect(200), key);
    assert!(whole.len() > limit, "{path} holds more than a page: {whole:?}");
    let mut walked = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let at = match &cursor {
            Some(c) => with(path, &format!("limit={limit}&cursor={c}")),
            None => with(path, &format!("limit={limit}")),
        };
        let page = app.get(&at, token).await.expect(200);
        let found = keys(&page, key);
        assert!(found.len() <= limit, "{at}: a page holds at most the limit");
        walked.extend(found);
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(pages <= whole.len(), "{path}: the pages end");
    }
    assert!(pages > 1, "{path} took more than one page");
    assert_eq!(walked, whole, "{path}: the pages are the list, in order, each item once");
    app.get(&with(path, "cursor=not.a-cursor"), token).await.problem(400, "invalid_query");
}

/// The demo organisation loaded, its admin signed in: the path of the
/// organisation and the admin's token.
pub async fn demo_admin(app: &TestApp) -> (String, String) {
    let loaded = circles_server::demo::load(&app.store, &app.state.passwords).await.expect("demo loads");
    let body = json!({ "email": circles_server::demo::ADMIN_EMAIL, "password": circles_server::demo::PASSWORD });
    let session = app.request(Method::POST, "/api/v1/auth/login", None, Some(body)).await.expect(200);
    (format!("/api/v1/orgs/{}", loaded.org_id), session["token"].as_str().unwrap().to_owned())
}

async fn people_groups_members_waitlist_offers_deliveries_and_audit_page_with_next_cursor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (org, token) = demo_admin(&app).await;

    walks_whole(&app, &token, &format!("{org}/people"), "id", 4).await;
    walks_whole(&app, &token, &format!("{org}/people?role=client"), "id", 3).await;
    walks_whole(&app, &token, &format!("{org}/groups"), "id", 1).await;
    let groups = app.get(&format!("{org}/groups"), &token).await.expect(200);
    let mut rostered = None;
    for group in groups["items"].as_array().unwrap() {
        let members = format!("{org}/groups/{}/members", group["id"].as_str().unwrap());
        if app.get(&members, &token).await.expect(200)["items"].as_array().unwrap().len() > 2 {
            rostered = Some(members);
            break;
        }
    }
    walks_whole(&app, &token, &rostered.expect("a group with a roster"), "id", 2).await;
    walks_whole(&app, &token, &format!("{org}/waitlist"), "id", 2).await;
    walks_whole(&app, &token, &format!("{org}/offers"), "id", 1).await;
    walks_whole(&app, &token, &format!("{org}/deliveries"), "id", 3).await;
    // Reading the audit trail records nothing, so it stands still while it
    // is walked; one client's events keep the walk short.
    let clients = app.get(&format!("{org}/people?role=client&limit=1"), &token).await.expect(200);
    let client = clients["items"][0]["id"].as_str().unwrap();
    walks_whole(&app, &token, &format!("{org}/audit?subject_id={client}"), "seq", 2).await;

    // A name cursor of the documented form that this server never wrote
    // (bytes that are no UTF-8, stray trailing bits, a NUL) still names a
    // place in the order: the page after it, never a refusal or a 500.
    let id = uuid::Uuid::nil();
    for name in ["04S7", "0A", "AAA", ""] {
        let people = app.get(&format!("{org}/people?cursor={name}.{id}"), &token).await.expect(200);
        assert!(people["items"].is_array(), "{name}: {people}");
    }
    let after_z = app.get(&format!("{org}/people?cursor={}.{id}", "_w"), &token).await.expect(200);
    assert_eq!(after_z["items"], json!([]), "a byte that is no UTF-8 reads as U+FFFD, after every name of the demo");
}

/// Every `limit` is bounded and every `cursor` has its form stated, on each
/// of the lists this file walks and on any other.
async fn every_listing_states_its_page_bounds_and_cursor_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc = app.request(Method::GET, "/api/openapi.json", None, None).await.expect(200);
    let mut cursors = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(params) = item["get"]["parameters"].as_array() else { continue };
        for param in params {
            let schema = &param["schema"];
            match param["name"].as_str().unwrap() {
                "limit" => {
                    assert!(schema["minimum"].is_number() && schema["maximum"].is_number(), "{path}: {param}");
                }
                "cursor" if path.starts_with("/api/v1/orgs") => {
                    cursors += 1;
                    let stated = schema["pattern"].is_string() || schema["format"] == "uuid";
                    assert!(stated, "{path}: the cursor's form is stated: {param}");
                    assert!(param["description"].is_string(), "{path}: {param}");
                }
                _ => {}
            }
        }
    }
    assert!(cursors >= 10, "the org lists page with cursors ({cursors})");
}

/// The short lists of one person or one organisation page like the long
/// ones: API tokens, calendar feeds, invitations to join organisations,
/// group memberships, webhook endpoints.
async fn tokens_feeds_invitations_memberships_and_webhooks_page_with_next_cursor(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.allow_private_webhooks = true).await;
    let org = app.org("p").await;
    for name in ["nightly export", "backup", "reports"] {
        app.post("/api/v1/me/tokens", &org.admin.token, json!({ "name": name })).await.expect(201);
        app.post("/api/v1/me/feeds", &org.admin.token, json!({})).await.expect(201);
        let hook = json!({ "url": "http://127.0.0.1:9/hook", "event_types": ["SESSION_BOOKED"], "description": name });
        app.post(&format!("/api/v1/orgs/{}/webhooks", org.id), &org.admin.token, hook).await.expect(201);
    }
    walks_whole(&app, &org.admin.token, "/api/v1/me/tokens", "id", 1).await;
    walks_whole(&app, &org.admin.token, "/api/v1/me/feeds", "id", 1).await;
    walks_whole(&app, &org.admin.token, &format!("/api/v1/orgs/{}/webhooks", org.id), "id", 1).await;

    // One account invited by three clinics.
    app.account("roamer@elsewhere.example", "Roamer").await;
    for slug in ["p1", "p2", "p3"] {
        let clinic = app.org(slug).await;
        let body = json!({ "email": "roamer@elsewhere.example", "name": "Roamer", "role": "therapist" });
        app.post(&format!("/api/v1/orgs/{}/people", clinic.id), &clinic.admin.token, body).await.expect(201);
    }
    let roamer = app.login("roamer@elsewhere.example").await;
    walks_whole(&app, &roamer, "/api/v1/me/org-invitations", "id", 1).await;

    // One client in three groups (a community takes the org's client in).
    for _ in 0..3 {
        app.community(&org, json!({}), &[]).await;
    }
    walks_whole(&app, &org.client.token, "/api/v1/me/memberships", "id", 1).await;
}
