//! The OpenAPI document states the constraints the server enforces, so a
//! request that fits the document is one the server takes (apart from rules
//! between fields, which the document states in words): text rules as
//! patterns, closed sets as enums, time zones as the names the server knows,
//! integral numbers as integers, and the group parts the domain parses as
//! schemas of their own.

use std::collections::BTreeSet;

use circles_domain::group::SettingsInput;
use circles_domain::input::{Label, TimeZoneName, free_text};
use circles_domain::recurrence::RecurrenceInput;
use circles_domain::waitlist::{OfferStatus, WaitlistSettings};
use circles_testkit::{Backend, backend_tests};
use regex::Regex;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Response, TestApp};

backend_tests!(
    text_fields_state_their_rule_and_the_server_keeps_it,
    every_request_text_field_states_a_rule,
    integral_numbers_are_integers,
    filters_list_the_values_the_server_takes,
    time_zones_are_the_names_the_server_knows,
    group_parts_have_schemas_the_domain_reads,
    waitlist_settings_have_a_schema_the_domain_reads,
    rules_between_fields_are_stated_where_they_are_enforced,
    fhir_errors_are_documented_as_operation_outcomes,
);

async fn document(app: &TestApp) -> Value {
    app.client.get(format!("{}/api/openapi.json", app.base)).send().await.unwrap().json().await.unwrap()
}

fn pattern(doc: &Value, schema: &str, property: &str) -> Regex {
    let text = doc["components"]["schemas"][schema]["properties"][property]["pattern"]
        .as_str()
        .unwrap_or_else(|| panic!("{schema}.{property} states a pattern"));
    Regex::new(text).unwrap()
}

/// Strings around the edges of the rules: white space and control
/// characters of several kinds, at the ends and inside.
const SAMPLES: &[&str] = &[
    "Ada",
    " Ada ",
    "\tAda\t",
    "Ada\nLovelace",
    "Ada\r\n",
    "   ",
    "",
    "\u{a0}",
    "\u{2003}x\u{2003}",
    "x\u{85}",
    "\u{85}",
    "a\u{7}",
    "\u{1b}[31m",
    "a\u{7f}",
    "a\u{9f}",
    "\u{feff}",
    "Zoë 🌿",
];

async fn text_fields_state_their_rule_and_the_server_keeps_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("riverside").await;
    let doc = document(&app).await;

    // What the document lets through, the domain takes.
    let line = pattern(&doc, "AddPersonRequest", "name");
    let free = pattern(&doc, "TimeOffRequest", "reason");
    for sample in SAMPLES {
        if line.is_match(sample) {
            assert!(Label::parse(sample, 200).is_ok(), "{sample:?} fits the document but a name refuses it");
        }
        if free.is_match(sample) {
            assert!(free_text(sample, 1000).is_ok(), "{sample:?} fits the document but free text refuses it");
        }
    }
    assert!(line.is_match("Ada Lovelace") && !line.is_match("Ada\u{7}") && !line.is_match("  "));
    assert!(free.is_match("line one\nline two") && !free.is_match("\u{1b}[31m"));

    // And the server refuses what the document refuses.
    let people = format!("/api/v1/orgs/{}/people", org.id);
    for bad in ["Ada\u{7}", "   ", "Ada\nLovelace"] {
        let body = json!({ "email": "ada@riverside.example", "name": bad, "role": "client" });
        let problem = app.post(&people, &org.admin.token, body).await.problem(422, "validation_failed");
        assert_eq!(Response::fields(&problem), ["name"], "{bad:?}");
    }
    let body = json!({ "email": "ada@riverside.example", "name": "Ada Lovelace", "role": "client" });
    app.post(&people, &org.admin.token, body).await.expect(201);

    let time_off = format!("/api/v1/orgs/{}/time-off", org.id);
    let request = |reason: &str| {
        json!({ "type": "VACATION", "reason": reason,
                "starts_at": app.hours_from_now(24), "ends_at": app.hours_from_now(48) })
    };
    let problem =
        app.post(&time_off, &org.therapist.token, request("away\u{7}")).await.problem(422, "validation_failed");
    assert_eq!(Response::fields(&problem), ["reason"]);
    app.post(&time_off, &org.therapist.token, request("Away:\n\tback on Monday")).await.expect(201);
}

/// Every string field of a request body says what it takes (a format, a
/// pattern, a set of values or a shared schema), except these, which take
/// any text.
const FREE_FORM: &[&str] = &[
    // FHIR's any-text value; each FHIR operation says what it reads from it.
    "FhirParameter.valueString",
    // The server compares them with the stored hash, whatever they are.
    "LoginRequest.password",
    "PasswordChange.current_password",
];

async fn every_request_text_field_states_a_rule(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    let mut request_schemas = BTreeSet::new();
    let mut pending: Vec<String> = Vec::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            collect_refs(&operation["requestBody"], &mut pending);
        }
    }
    while let Some(name) = pending.pop() {
        if request_schemas.insert(name.clone()) {
            collect_refs(&schemas[&name], &mut pending);
        }
    }
    assert!(request_schemas.contains("AddPersonRequest") && request_schemas.contains("SeriesRecurrence"));

    let mut unstated = Vec::new();
    for name in &request_schemas {
        for (property, schema) in schemas[name]["properties"].as_object().into_iter().flatten() {
            let field = if schema["type"] == "array" { &schema["items"] } else { schema };
            let is_string =
                field["type"] == "string" || field["type"].as_array().is_some_and(|t| t.contains(&json!("string")));
            let stated = ["format", "pattern", "enum", "$ref"].iter().any(|k| field.get(*k).is_some());
            if is_string && !stated {
                unstated.push(format!("{name}.{property}"));
            }
        }
    }
    assert_eq!(unstated, FREE_FORM, "request text fields whose rule the document does not state");
}

fn collect_refs(node: &Value, into: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
                into.push(reference.trim_start_matches("#/components/schemas/").to_owned());
            }
            map.values().for_each(|v| collect_refs(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, into)),
        _ => {}
    }
}

async fn integral_numbers_are_integers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.account("ada@example.org", "Ada").await;
    let token = app.login("ada@example.org").await;
    // JSON has one number type: 30.0 is the integer 30.
    let created =
        app.post("/api/v1/me/tokens", &token, json!({ "name": "ci", "expires_in_days": 30.0 })).await.expect(201);
    assert_eq!(created["name"], "ci");
    let problem = app
        .post("/api/v1/me/tokens", &token, json!({ "name": "ci", "expires_in_days": 30.5 }))
        .await
        .problem(422, "validation_failed");
    assert_eq!(Response::fields(&problem), ["expires_in_days"]);
}

async fn filters_list_the_values_the_server_takes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("riverside").await;
    let doc = document(&app).await;

    // A query string cannot say null: no parameter is documented as nullable.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let text = parameter["schema"].to_string();
                assert!(!text.contains("\"null\""), "{method} {path} {}: {text}", parameter["name"]);
            }
        }
    }

    let parameters = doc["paths"]["/api/v1/orgs/{org_id}/offers"]["get"]["parameters"].as_array().unwrap();
    let status = parameters.iter().find(|p| p["name"] == "status").unwrap();
    let listed: Vec<&str> = status["schema"]["enum"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let spelled: Vec<&str> = OfferStatus::ALL.iter().map(|s| s.wire()).collect();
    assert_eq!(listed, spelled, "the offers filter lists the domain's statuses");
    for value in listed {
        app.get(&format!("/api/v1/orgs/{}/offers?status={value}", org.id), &org.admin.token).await.expect(200);
    }
    app.get(&format!("/api/v1/orgs/{}/offers?status=live", org.id), &org.admin.token).await.expect(200);

    // A listing's page size states the bounds the server keeps.
    let limit = doc["paths"]["/api/v1/orgs/{org_id}/deliveries"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap()["schema"]
        .clone();
    assert_eq!((limit["minimum"].as_i64(), limit["maximum"].as_i64()), (Some(1), Some(1000)));
    let path = format!("/api/v1/orgs/{}/deliveries?limit=1001", org.id);
    app.get(&path, &org.admin.token).await.problem(400, "invalid_query");
    app.get(&format!("/api/v1/orgs/{}/deliveries?limit=1000", org.id), &org.admin.token).await.expect(200);
}

async fn time_zones_are_the_names_the_server_knows(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.account("ada@example.org", "Ada").await;
    let token = app.login("ada@example.org").await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];

    let names: Vec<&str> =
        schemas["TimeZoneName"]["enum"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(names.contains(&"America/New_York") && names.contains(&"UTC"));
    assert!(!names.contains(&"EST"), "zones the server refuses are not listed");
    for name in &names {
        assert!(TimeZoneName::parse(name).is_ok(), "{name} is listed but refused");
    }
    assert_eq!(schemas["CreateOrgRequest"]["properties"]["timezone"]["$ref"], "#/components/schemas/TimeZoneName");

    let zone = names.iter().find(|n| n.starts_with("Pacific/")).unwrap();
    let saved =
        app.request(Method::PUT, "/api/v1/me/preferences", Some(&token), Some(json!({ "timezone": zone }))).await;
    assert_eq!(saved.expect(200)["timezone"], *zone);
    let refused =
        app.request(Method::PUT, "/api/v1/me/preferences", Some(&token), Some(json!({ "timezone": "EST" }))).await;
    assert_eq!(Response::fields(&refused.problem(422, "validation_failed")), ["timezone"]);
}

async fn group_parts_have_schemas_the_domain_reads(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("riverside").await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    let keys = |schema: &str| -> BTreeSet<String> {
        schemas[schema]["properties"].as_object().unwrap().keys().cloned().collect()
    };

    // The series schema has exactly the domain's fields.
    let series = RecurrenceInput {
        rrule: "FREQ=WEEKLY;BYDAY=TH".into(),
        start_date: "2027-03-04".into(),
        start_time: "18:00".into(),
        timezone: "America/New_York".into(),
        duration_minutes: 90,
        end_date: None,
        exdates: vec![],
    };
    let domain: BTreeSet<String> =
        serde_json::to_value(&series).unwrap().as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys("SeriesRecurrence"), domain);
    assert!(
        Regex::new(schemas["SeriesRecurrence"]["properties"]["rrule"]["pattern"].as_str().unwrap())
            .unwrap()
            .is_match(&series.rrule)
    );
    // Every documented setting is one the domain reads.
    for setting in keys("GroupSettingsChange") {
        let one: Result<SettingsInput, _> = serde_json::from_value(json!({ setting.clone(): null }));
        assert!(one.is_ok(), "settings.{setting} is documented but unknown to the domain");
    }
    assert_eq!(schemas["GroupBody"]["properties"]["capacity"]["minimum"], 1);
    assert_eq!(schemas["GroupBody"]["properties"]["capacity"]["maximum"], 500);

    let groups = format!("/api/v1/orgs/{}/groups", org.id);
    let group = |extra: Value| {
        let mut body = json!({ "name": "Thursday circle", "facilitator_ids": [org.therapist.person_id] });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let problem =
        app.post(&groups, &org.admin.token, group(json!({ "capacity": 0 }))).await.problem(422, "validation_failed");
    assert_eq!(Response::fields(&problem), ["capacity"]);
    let problem = app
        .post(&groups, &org.admin.token, group(json!({ "settings": { "default_capacity": 1 } })))
        .await
        .problem(422, "validation_failed");
    assert_eq!(Response::fields(&problem), ["settings.default_capacity"]);
    let made = app.post(&groups, &org.admin.token, group(json!({ "capacity": 12, "recurrence": series }))).await;
    assert_eq!(made.expect(201)["capacity"], 12);
}

async fn rules_between_fields_are_stated_where_they_are_enforced(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("riverside").await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    let said = |schema: &str, property: Option<&str>| {
        let node = match property {
            Some(p) => &schemas[schema]["properties"][p]["description"],
            None => &schemas[schema]["description"],
        };
        node.as_str().unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ")
    };
    assert!(said("TimeOffRequest", Some("ends_at")).contains("after `starts_at`"));
    assert!(said("CreateSessionRequest", None).contains("`starts_at` is in the future"));
    assert!(said("CreateHoldRequest", None).contains("either occurrences or recurrence, not both"));

    let time_off = format!("/api/v1/orgs/{}/time-off", org.id);
    let backwards =
        json!({ "type": "VACATION", "starts_at": app.hours_from_now(48), "ends_at": app.hours_from_now(24) });
    let problem = app.post(&time_off, &org.therapist.token, backwards).await.problem(422, "validation_failed");
    assert_eq!(Response::fields(&problem), ["ends_at"]);
    let sessions = format!("/api/v1/orgs/{}/sessions", org.id);
    let past = json!({ "starts_at": app.hours_from_now(-2), "duration_minutes": 50,
                       "therapist_ids": [org.therapist.person_id], "client_ids": [org.client.person_id] });
    let problem = app.post(&sessions, &org.admin.token, past).await.problem(422, "validation_failed");
    assert!(Response::fields(&problem).contains(&"starts_at".to_owned()), "{problem}");
}

async fn waitlist_settings_have_a_schema_the_domain_reads(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = app.org("riverside").await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    let keys = |node: &Value| -> BTreeSet<String> { node.as_object().unwrap().keys().cloned().collect() };
    let defaults = serde_json::to_value(WaitlistSettings::default()).unwrap();
    assert_eq!(keys(&schemas["WaitlistSettingsBody"]["properties"]), keys(&defaults));
    assert_eq!(keys(&schemas["PriorityWeightsBody"]["properties"]), keys(&defaults["priority"]));
    assert_eq!(keys(&schemas["MatchWeightsBody"]["properties"]), keys(&defaults["matching"]));
    assert_eq!(schemas["PriorityWeightsBody"]["properties"]["wait"]["maximum"], 1);
    let put = doc["paths"]["/api/v1/orgs/{org_id}/waitlist/settings"]["put"]["requestBody"].to_string();
    assert!(put.contains("WaitlistSettingsBody"), "{put}");

    let path = format!("/api/v1/orgs/{}/waitlist/settings", org.id);
    let put = |body: Value| app.request(Method::PUT, &path, Some(&org.admin.token), Some(body));
    let problem = put(json!({ "priority": { "wait": 1.5 } })).await.problem(422, "validation_failed");
    assert_eq!(Response::fields(&problem), ["priority.wait"]);
    put(json!({ "unknown": 1 })).await.problem(422, "validation_failed");
    let saved = put(json!({ "offer_expiry_minutes": 60, "mode": { "mode": "PARALLEL", "k": 3 } })).await.expect(200);
    assert_eq!(saved["offer_expiry_minutes"], 60);
    assert_eq!(saved["mode"]["k"], 3);
}

/// Under `/fhir/` every error is an `OperationOutcome` in
/// `application/fhir+json`, and the document says so; everywhere else it is
/// a problem document.
async fn fhir_errors_are_documented_as_operation_outcomes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc = document(&app).await;
    let mut fhir_errors = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().into_iter().flatten() {
                if !(status.starts_with('4') || status.starts_with('5')) {
                    continue;
                }
                let types: Vec<&String> =
                    response["content"].as_object().map(|c| c.keys().collect()).unwrap_or_default();
                let (wanted, schema) = if path.starts_with("/fhir/") {
                    fhir_errors += 1;
                    ("application/fhir+json", "#/components/schemas/OperationOutcome")
                } else {
                    ("application/problem+json", "#/components/schemas/Problem")
                };
                assert_eq!(types, [wanted], "{method} {path} {status}");
                assert_eq!(response["content"][wanted]["schema"]["$ref"], schema, "{method} {path} {status}");
            }
        }
    }
    assert!(fhir_errors > 20, "the FHIR routes' errors were checked");
    let outcome = &doc["components"]["schemas"]["OperationOutcome"];
    assert_eq!(outcome["properties"]["resourceType"]["enum"], json!(["OperationOutcome"]));
}
