//! What a person reads, walked generically: every id of a person, group or
//! session sits beside its name (or a session's title), and every instant
//! beside its local form, on every view the API answers with.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// The stem of a key that names a person, group or session by id
/// (`preferred_therapist_id` → `preferred_therapist`, `created_by` →
/// `created_by`), or `None` for other ids and fields.
fn names_someone(key: &str) -> Option<&str> {
    let stem = key.strip_suffix("_id").or_else(|| key.ends_with("_by").then_some(key))?;
    let people_and_things =
        ["therapist", "client", "person", "member", "moderator", "facilitator", "group", "session", "_by"];
    people_and_things.iter().any(|what| stem.ends_with(what)).then_some(stem)
}

/// A non-empty list of ids (UUIDs).
fn ids_value(value: &Value) -> bool {
    let id = |v: &Value| v.as_str().is_some_and(|t| t.parse::<uuid::Uuid>().is_ok());
    matches!(value, Value::Array(items) if !items.is_empty() && items.iter().all(id))
}

fn instant_value(value: &Value) -> bool {
    match value {
        Value::String(text) => text.parse::<jiff::Timestamp>().is_ok(),
        Value::Array(items) => !items.is_empty() && items.iter().all(instant_value),
        _ => false,
    }
}

/// The siblings any of which names what `stem` points at: `{stem}_name`,
/// `{stem}_title`, for `actor_person` also `actor_name`, and in a view of
/// one session or person (`session_id` beside `title`, `person_id` beside
/// `name`) the view's own title or name.
fn has_name(fields: &Map<String, Value>, stem: &str) -> bool {
    let short = stem.strip_suffix("_person").unwrap_or(stem);
    let own = match stem {
        "session" => "title",
        "person" => "name",
        _ => "",
    };
    [format!("{stem}_name"), format!("{stem}_title"), format!("{short}_name"), own.to_owned()]
        .iter()
        .any(|k| fields.contains_key(k))
}

/// An instant a person reads: a value that is one (or a list of them), or
/// a `*_at` field even while it is null.
fn is_instant(key: &str, value: &Value) -> bool {
    !key.ends_with("_local") && (key.ends_with("_at") || instant_value(value))
}

fn walk(view: &Value, at: &str, found: &mut BTreeSet<String>) {
    match view {
        Value::Array(items) => {
            for item in items {
                walk(item, &format!("{at}[]"), found);
            }
        }
        Value::Object(fields) => {
            for (key, value) in fields {
                if let Some(stem) = names_someone(key)
                    && !has_name(fields, stem)
                {
                    found.insert(format!("{at}.{key} has no {stem}_name beside it"));
                }
                if let Some(stem) =
                    key.strip_suffix("_ids").filter(|stem| names_someone(&format!("{stem}_id")).is_some())
                    && !fields.contains_key(&format!("{stem}_names"))
                {
                    found.insert(format!("{at}.{key} has no {stem}_names beside it"));
                }
                if !key.ends_with("_ids")
                    && ids_value(value)
                    && !fields.contains_key(&format!("{key}_titles"))
                    && !fields.contains_key(&format!("{key}_names"))
                {
                    found.insert(format!("{at}.{key} lists ids with no {key}_titles or {key}_names beside it"));
                }
                if is_instant(key, value) && !fields.contains_key(&format!("{key}_local")) {
                    found.insert(format!("{at}.{key} has no {key}_local beside it"));
                }
                // An audit event's `details` is the change as recorded, for
                // machines; the event itself names its actor and subject.
                if key != "details" {
                    walk(value, &format!("{at}.{key}"), found);
                }
            }
        }
        _ => {}
    }
}

/// Every bare id and every instant without its local form in `view`, once
/// for all the items of a list.
pub fn unreadable(view: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    walk(view, "", &mut found);
    found
}

/// Fails on every bare id and every instant without its local form in
/// `view`, the answer of `route`.
pub fn assert_readable(route: &str, view: &Value) {
    let found = unreadable(view);
    assert!(found.is_empty(), "{route} answers what a person cannot read:\n{found:#?}\n{view:#}");
}

#[test]
fn the_walker_finds_bare_ids_and_utc_only_instants() {
    let readable = serde_json::json!({
        "id": "x", "org_id": "o", "session_id": "s", "session_title": "Group",
        "therapists": [{ "therapist_id": "t", "therapist_name": "Dana" }],
        "starts_at": "2030-12-12T23:00:00Z", "starts_at_local": "Thu 12 Dec, 18:00 EST",
        "created_by": null, "created_by_name": null, "actor_person_id": "p", "actor_name": "Alex",
        "facilitator_ids": ["f"], "facilitator_names": ["Dana"],
    });
    assert_readable("a readable view", &readable);
    let bare = serde_json::json!({
        "items": [{ "group_id": "g", "sent_at": "2030-12-12T23:00:00Z", "coverage_therapist_id": "t",
            "moderator_ids": ["m"], "moved": ["6a1f6c1e-6f43-4e0b-9a55-0d6f4f7c1a2b"] }],
    });
    assert_eq!(
        unreadable(&bare).into_iter().collect::<Vec<_>>(),
        [
            ".items[].coverage_therapist_id has no coverage_therapist_name beside it",
            ".items[].group_id has no group_name beside it",
            ".items[].moderator_ids has no moderator_names beside it",
            ".items[].moved lists ids with no moved_titles or moved_names beside it",
            ".items[].sent_at has no sent_at_local beside it",
        ]
    );
}
