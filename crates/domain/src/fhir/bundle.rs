//! The envelopes: a searchset `Bundle` with its paging links, and the
//! `OperationOutcome` every FHIR error answer is.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{EXTENSION_BASE, instant};

/// One search hit: the resource and the absolute URL it is read at (none
/// for a proposal, which is not stored and cannot be read back).
pub struct Entry {
    pub full_url: Option<String>,
    pub resource: Value,
}

/// A page of search results. `next` is the link to the page after, when
/// there is one; `total` only when the whole count is known without extra
/// work (FHIR lets a server leave it out).
pub fn searchset(self_url: &str, next: Option<&str>, total: Option<usize>, entries: Vec<Entry>) -> Value {
    let mut link = vec![json!({ "relation": "self", "url": self_url })];
    if let Some(next) = next {
        link.push(json!({ "relation": "next", "url": next }));
    }
    let entry: Vec<Value> = entries
        .into_iter()
        .map(|e| {
            let mut entry = json!({ "resource": e.resource, "search": { "mode": "match" } });
            if let Some(url) = e.full_url {
                entry["fullUrl"] = json!(url);
            }
            entry
        })
        .collect();
    let mut bundle = json!({ "resourceType": "Bundle", "type": "searchset", "link": link });
    if let Some(total) = total {
        bundle["total"] = json!(total);
    }
    if !entry.is_empty() {
        bundle["entry"] = json!(entry);
    }
    bundle
}

/// A refused input field, as an issue names it.
pub struct FieldIssue<'a> {
    pub field: &'a str,
    pub reason: &'a str,
}

/// What went wrong, in Circles' terms: the HTTP status, the stable problem
/// code, the sentence for a person, the refused fields and, for a
/// scheduling conflict, the next free starts.
pub struct Failure<'a> {
    pub status: u16,
    pub code: &'a str,
    pub detail: &'a str,
    pub fields: Vec<FieldIssue<'a>>,
    pub retry_hints: Vec<Timestamp>,
}

/// The FHIR issue type for an HTTP status (the `issue.code` value set).
pub fn issue_type(status: u16) -> &'static str {
    match status {
        400 | 422 => "invalid",
        401 => "login",
        403 => "forbidden",
        404 => "not-found",
        405 | 415 | 501 => "not-supported",
        409 => "conflict",
        410 => "deleted",
        413 | 414 | 431 => "too-costly",
        429 => "throttled",
        503 => "transient",
        _ => "exception",
    }
}

/// The `OperationOutcome` for a failure: one issue per refused field (its
/// `expression` names the field), or one for the whole request. A conflict
/// carries its retry hints as extensions on the issue, earliest first, and
/// says them in words too.
pub fn operation_outcome(failure: &Failure<'_>) -> Value {
    let issue_code = issue_type(failure.status);
    let coding = json!({ "system": format!("{EXTENSION_BASE}/problem-code"), "code": failure.code });
    let mut issues: Vec<Value> = failure
        .fields
        .iter()
        .map(|f| {
            json!({
                "severity": "error",
                "code": issue_code,
                "details": { "coding": [coding.clone()], "text": format!("{}: {}", f.field, f.reason) },
                "expression": [f.field],
            })
        })
        .collect();
    if issues.is_empty() {
        let mut issue = json!({
            "severity": "error",
            "code": issue_code,
            "details": { "coding": [coding], "text": failure.detail },
        });
        if !failure.retry_hints.is_empty() {
            let hints: Vec<String> = failure.retry_hints.iter().map(|t| instant(*t, "UTC")).collect();
            issue["diagnostics"] = json!(format!("free again at: {}", hints.join(", ")));
            issue["extension"] = json!(
                hints
                    .iter()
                    .map(|h| json!({ "url": format!("{EXTENSION_BASE}/retry-hint"), "valueInstant": h }))
                    .collect::<Vec<_>>()
            );
        }
        issues.push(issue);
    }
    json!({ "resourceType": "OperationOutcome", "issue": issues })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: u16) -> Failure<'static> {
        Failure { status, code: "not_found", detail: "session not found", fields: Vec::new(), retry_hints: Vec::new() }
    }

    #[test]
    fn a_searchset_links_to_itself_and_the_next_page() {
        let entries = vec![
            Entry { full_url: Some("http://x/fhir/o/Patient/p".into()), resource: json!({ "id": "p" }) },
            Entry { full_url: None, resource: json!({ "status": "proposed" }) },
        ];
        let bundle = searchset("http://x/self", Some("http://x/next"), Some(3), entries);
        assert_eq!(bundle["type"], "searchset");
        assert_eq!(bundle["total"], 3);
        assert_eq!(bundle["link"][0], json!({ "relation": "self", "url": "http://x/self" }));
        assert_eq!(bundle["link"][1], json!({ "relation": "next", "url": "http://x/next" }));
        assert_eq!(bundle["entry"][0]["search"]["mode"], "match");
        assert_eq!(bundle["entry"][0]["fullUrl"], "http://x/fhir/o/Patient/p");
        assert!(bundle["entry"][1].get("fullUrl").is_none());
    }

    #[test]
    fn an_empty_last_page_has_no_entries_and_no_next_link() {
        let bundle = searchset("http://x/self", None, None, Vec::new());
        assert!(bundle.get("entry").is_none() && bundle.get("total").is_none());
        assert_eq!(bundle["link"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn statuses_map_to_issue_types() {
        assert_eq!(issue_type(404), "not-found");
        assert_eq!(issue_type(409), "conflict");
        assert_eq!(issue_type(422), "invalid");
        assert_eq!(issue_type(403), "forbidden");
        assert_eq!(issue_type(500), "exception");
    }

    #[test]
    fn each_refused_field_is_an_issue_naming_it() {
        let mut f = failure(422);
        f.fields =
            vec![FieldIssue { field: "start", reason: "is required" }, FieldIssue { field: "end", reason: "bad" }];
        let outcome = operation_outcome(&f);
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        assert_eq!(outcome["issue"].as_array().unwrap().len(), 2);
        assert_eq!(outcome["issue"][0]["expression"], json!(["start"]));
        assert_eq!(outcome["issue"][1]["details"]["text"], "end: bad");
        assert_eq!(outcome["issue"][0]["code"], "invalid");
    }

    #[test]
    fn a_conflict_carries_its_retry_hints() {
        let mut f = failure(409);
        f.code = "scheduling_conflict";
        f.retry_hints = vec!["2027-03-01T15:00:00Z".parse().unwrap(), "2027-03-01T16:00:00Z".parse().unwrap()];
        let outcome = operation_outcome(&f);
        let issue = &outcome["issue"][0];
        assert_eq!(issue["code"], "conflict");
        assert_eq!(issue["details"]["coding"][0]["code"], "scheduling_conflict");
        assert_eq!(issue["extension"][1]["valueInstant"], "2027-03-01T16:00:00+00:00");
        assert!(issue["diagnostics"].as_str().unwrap().contains("2027-03-01T15:00:00+00:00"));
    }
}
