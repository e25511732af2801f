//! The group settings page saves through the API: its time-window rows
//! become the group's windows, and a blanked optional field is cleared.

use circles_testkit::{Backend, backend_tests};
use serde_json::{Value, json};

use crate::support::{Login, Org, TestApp};

backend_tests!(
    windows_typed_in_the_settings_form_are_stored_and_emptied_rows_clear_them,
    blanked_optional_fields_are_cleared,
    offer_modes_are_chosen_for_a_group_and_for_the_organisation,
);

/// A browser of one person: their session cookie, redirects not followed.
pub struct Browser {
    client: reqwest::Client,
    cookie: String,
    base: String,
}

impl Browser {
    pub async fn sign_in(app: &TestApp, who: &Login) -> Self {
        let res = app
            .client
            .post(format!("{}/api/v1/auth/login", app.base))
            .json(&json!({ "email": who.email, "password": crate::support::PASSWORD }))
            .send()
            .await
            .unwrap();
        let cookie = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { client, cookie, base: app.base.clone() }
    }

    pub async fn page(&self, path: &str) -> String {
        let res = self.client.get(format!("{}{path}", self.base)).header("cookie", &self.cookie).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        res.text().await.unwrap()
    }

    /// Posts `fields` with the form token the page at `path` carries;
    /// returns the status and the page sent back.
    pub async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        self.submit_to(path, path, fields).await
    }

    /// Posts `fields` to `action` with the token of its form on the page at `path`.
    pub async fn submit_to(&self, path: &str, action: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let page = self.page(path).await;
        // The page's other forms (signing out) carry tokens of their own.
        let form = &page[page.find(&format!(r#"action="{action}""#)).expect("the page has the form")..];
        let marker = r#"name="_token" value=""#;
        let start = form.find(marker).expect("the form carries a token") + marker.len();
        let token = &form[start..start + form[start..].find('"').unwrap()];
        let mut body = vec![("_token", token)];
        body.extend_from_slice(fields);
        let res = self
            .client
            .post(format!("{}{action}", self.base))
            .header("cookie", &self.cookie)
            .header("origin", &self.base)
            .form(&body)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }
}

async fn group(app: &TestApp, org: &Org) -> String {
    let created = app
        .post(
            &format!("/api/v1/orgs/{}/groups", org.id),
            &org.admin.token,
            json!({
                "name": "Evening Circle", "type": "SUPPORT", "capacity": 8, "modality": "VIRTUAL",
                "virtual_link": "https://video.example/circle", "location": "Room 2",
                "target_population": "Adults",
                "settings": { "allowed_time_windows": [
                    { "weekday": "monday", "start_time": "09:00", "end_time": "12:00" } ] }
            }),
        )
        .await
        .expect(201);
    created["id"].as_str().unwrap().to_owned()
}

/// Every field of the settings form as the page shows it filled in, with
/// `changes` over them.
fn filled<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("name", "Evening Circle"),
        ("description", ""),
        ("type", "SUPPORT"),
        ("open", "true"),
        ("capacity", "8"),
        ("target_population", "Adults"),
        ("modality", "VIRTUAL"),
        ("virtual_link", "https://video.example/circle"),
        ("location", "Room 2"),
        ("session_creation", "MODERATORS"),
        ("advance_notice_hours", "0"),
        ("default_capacity", "12"),
        ("allow_instant", "true"),
        ("late_join_minutes", "0"),
    ];
    for (name, value) in changes {
        match fields.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value,
            None => fields.push((name, value)),
        }
    }
    fields
}

fn windows_row<'a>(day: &'a str, start: &'a str, end: &'a str) -> [(&'a str, &'a str); 3] {
    [("win_day", day), ("win_start", start), ("win_end", end)]
}

async fn stored(app: &TestApp, org: &Org, group: &str) -> Value {
    app.get(&format!("/api/v1/orgs/{}/groups/{group}", org.id), &org.admin.token).await.expect(200)
}

async fn windows_typed_in_the_settings_form_are_stored_and_emptied_rows_clear_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let group = group(&app, &org).await;
    let browser = Browser::sign_in(&app, &org.admin).await;
    let path = format!("/orgs/{}/groups/{group}/settings", org.id);

    // The stored window is shown in its row, with two empty rows to add more.
    let form = browser.page(&path).await;
    assert!(form.contains(r#"<option value="monday" selected>Monday</option>"#), "{form}");
    assert!(form.contains(r#"id="f-win-0-start" name="win_start" type="time" value="09:00""#), "{form}");
    assert!(form.contains("<legend>Window 3</legend>") && !form.contains("<legend>Window 4</legend>"), "{form}");

    // Monday's row is emptied, Wednesday and Friday are typed in.
    let mut fields = filled(&[]);
    fields.extend(windows_row("", "", ""));
    fields.extend(windows_row("wednesday", "18:00", "20:30"));
    fields.extend(windows_row("friday", "10:00", "11:00"));
    let (status, page) = browser.submit(&path, &fields).await;
    assert_eq!(status, 303, "{page}");
    assert_eq!(
        stored(&app, &org, &group).await["settings"]["allowed_time_windows"],
        json!([
            { "weekday": "wednesday", "start_time": "18:00", "end_time": "20:30" },
            { "weekday": "friday", "start_time": "10:00", "end_time": "11:00" },
        ])
    );
    let shown = browser.page(&format!("/orgs/{}/groups/{group}", org.id)).await;
    assert!(shown.contains("Wednesdays 18:00–20:30; Fridays 10:00–11:00."), "the rules say the windows: {shown}");

    // A window that ends before it starts is refused beside its row (the
    // second filled row is the third on the form), and nothing changes.
    let mut fields = filled(&[]);
    fields.extend(windows_row("wednesday", "18:00", "20:30"));
    fields.extend(windows_row("", "", ""));
    fields.extend(windows_row("friday", "11:00", "10:00"));
    let (status, page) = browser.submit(&path, &fields).await;
    assert_eq!(status, 422);
    assert!(page.contains(r#"<span class="error" id="f-win-2-end-error">"#), "{page}");
    assert!(page.contains(r#"id="f-win-2-end" name="win_end" type="time" value="10:00""#), "as typed: {page}");

    // Emptying every row clears the windows.
    let mut fields = filled(&[]);
    for _ in 0..3 {
        fields.extend(windows_row("", "", ""));
    }
    assert_eq!(browser.submit(&path, &fields).await.0, 303);
    assert_eq!(stored(&app, &org, &group).await["settings"]["allowed_time_windows"], json!([]));
}

async fn blanked_optional_fields_are_cleared(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let group = group(&app, &org).await;
    let browser = Browser::sign_in(&app, &org.admin).await;
    let path = format!("/orgs/{}/groups/{group}/settings", org.id);

    let blanked = filled(&[
        ("capacity", ""),
        ("target_population", " "),
        ("modality", ""),
        ("virtual_link", ""),
        ("location", ""),
    ]);
    let (status, page) = browser.submit(&path, &blanked).await;
    assert_eq!(status, 303, "{page}");
    let g = stored(&app, &org, &group).await;
    for field in ["capacity", "target_population", "modality", "virtual_link", "location"] {
        assert!(g[field].is_null(), "{field} is cleared: {g}");
    }

    // A number every group has cannot be blanked: it is refused by its field.
    let (status, page) = browser.submit(&path, &filled(&[("late_join_minutes", "")])).await;
    assert_eq!(status, 422);
    assert!(page.contains(r#"id="f-late_join_minutes-error""#), "{page}");
    assert_eq!(stored(&app, &org, &group).await["settings"]["late_join_minutes"], 0);

    // Through the API, null clears the member limit and a missing field keeps it.
    let api_path = format!("/api/v1/orgs/{}/groups/{group}", org.id);
    let patch = |body: Value| app.request(reqwest::Method::PATCH, &api_path, Some(&org.admin.token), Some(body));
    patch(json!({ "capacity": 5 })).await.expect(200);
    assert_eq!(patch(json!({ "name": "Evening Circle" })).await.expect(200)["capacity"], 5);
    assert!(patch(json!({ "capacity": null })).await.expect(200)["capacity"].is_null());
}

async fn offer_modes_are_chosen_for_a_group_and_for_the_organisation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("r").await;
    let group = group(&app, &org).await;
    let browser = Browser::sign_in(&app, &org.admin).await;
    let path = format!("/orgs/{}/groups/{group}/settings", org.id);
    let form = browser.page(&path).await;
    assert!(form.contains(r#"<option value="" selected>As the organisation"#), "follows the organisation at first");

    let (status, page) = browser.submit(&path, &filled(&[("offer_mode", "PARALLEL"), ("offer_k", "4")])).await;
    assert_eq!(status, 303, "{page}");
    assert_eq!(stored(&app, &org, &group).await["settings"]["offer_mode"], json!({ "mode": "PARALLEL", "k": 4 }));
    assert!(browser.page(&path).await.contains(r#"<option value="PARALLEL" selected>"#));

    // More than ten at once is refused beside the count.
    let (status, page) = browser.submit(&path, &filled(&[("offer_mode", "PARALLEL"), ("offer_k", "11")])).await;
    assert_eq!(status, 422);
    assert!(page.contains(r#"id="f-offer_k-error""#), "{page}");
    let (status, _) = browser.submit(&path, &filled(&[("offer_mode", "")])).await;
    assert_eq!(status, 303);
    assert!(stored(&app, &org, &group).await["settings"]["offer_mode"].is_null(), "back to the organisation's way");

    // Through the API: a mode, null to follow the organisation, left out to keep.
    let api_path = format!("/api/v1/orgs/{}/groups/{group}", org.id);
    let patch = |body: Value| app.request(reqwest::Method::PATCH, &api_path, Some(&org.admin.token), Some(body));
    let manual = patch(json!({ "settings": { "offer_mode": { "mode": "MANUAL" } } })).await.expect(200);
    assert_eq!(manual["settings"]["offer_mode"], json!({ "mode": "MANUAL" }));
    let kept = patch(json!({ "settings": { "late_join_minutes": 10 } })).await.expect(200);
    assert_eq!(kept["settings"]["offer_mode"], json!({ "mode": "MANUAL" }));
    let refused = patch(json!({ "settings": { "offer_mode": { "mode": "PARALLEL", "k": 0 } } })).await;
    let problem = refused.problem(422, "validation_failed");
    assert_eq!(problem["errors"][0]["field"], "settings.offer_mode.k");
    let cleared = patch(json!({ "settings": { "offer_mode": null } })).await.expect(200);
    assert!(cleared["settings"]["offer_mode"].is_null());

    // The organisation's own mode, on its settings page.
    let settings = format!("/orgs/{}/settings", org.id);
    let action = format!("/orgs/{}/settings/waitlist", org.id);
    let fields = [
        ("offer_mode", "MANUAL"),
        ("offer_k", "3"),
        ("offer_expiry_minutes", "90"),
        ("grace_seconds", "60"),
        ("clients_may_join", "true"),
    ];
    let (status, page) = browser.submit_to(&settings, &action, &fields).await;
    assert_eq!(status, 303, "{page}");
    let api = format!("/api/v1/orgs/{}/waitlist/settings", org.id);
    let saved = app.get(&api, &org.admin.token).await.expect(200);
    assert_eq!(saved["mode"], json!({ "mode": "MANUAL" }));
    assert_eq!((saved["offer_expiry_minutes"].as_i64(), saved["grace_seconds"].as_i64()), (Some(90), Some(60)));
    assert!(browser.page(&settings).await.contains(r#"<option value="MANUAL" selected>"#));
    let (status, _) = browser
        .submit_to(
            &settings,
            &action,
            &[
                ("offer_mode", "ONE_AT_A_TIME"),
                ("offer_k", "3"),
                ("offer_expiry_minutes", "2"),
                ("grace_seconds", "60"),
            ],
        )
        .await;
    assert_eq!(status, 303, "refused back to the page, saying why");
    let unchanged = app.get(&api, &org.admin.token).await.expect(200);
    assert_eq!(unchanged["offer_expiry_minutes"], 90, "an offer shorter than five minutes is refused");
    assert_eq!(unchanged["clients_may_join"], true);
}
