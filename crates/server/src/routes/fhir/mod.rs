//! The FHIR R4 scheduling API under `/fhir/{org_id}/`: thin handlers over
//! the JSON API's store use cases and authorization, with the mapping in
//! `circles_domain::fhir`.
//!
//! Errors are the JSON API's `ApiError`s; `http::problems` turns every error
//! answer under `/fhir/` into an `OperationOutcome`, including those the
//! membership check, the idempotency layer and the router make.

pub mod appointments;
pub mod operations;
pub mod people;
pub mod slots;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use circles_domain::fhir::bundle::{self, Entry};
use circles_domain::fhir::capability::{capability_statement, search_params};
use circles_domain::fhir::{FHIR_JSON, params};
use serde_json::Value;

use super::query::bad_query;
use crate::auth::Member;
use crate::http::error::ApiResult;
use crate::state::AppState;

/// The date the supported surface was last changed (CapabilityStatement.date).
const CAPABILITY_DATE: &str = "2026-11-30";

/// A FHIR resource answer.
pub struct Fhir(pub StatusCode, pub Value);

impl Fhir {
    pub fn ok(resource: Value) -> Self {
        Fhir(StatusCode::OK, resource)
    }
}

impl IntoResponse for Fhir {
    fn into_response(self) -> Response {
        (self.0, [(header::CONTENT_TYPE, FHIR_JSON)], self.1.to_string()).into_response()
    }
}

/// The organisation's FHIR base URL, absolute: the configured public URL,
/// or the address the request came to.
pub fn base_url(state: &AppState, headers: &HeaderMap, member: &Member) -> String {
    let root = match &state.settings.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
            format!("http://{host}")
        }
    };
    format!("{root}/fhir/{}", member.org_id())
}

/// A search's query: repeated names kept (`date=ge…&date=lt…`), and any
/// name the CapabilityStatement does not list for the resource refused.
pub struct SearchQuery {
    resource_type: &'static str,
    pairs: Vec<(String, String)>,
}

impl SearchQuery {
    pub fn parse(resource_type: &'static str, raw: Option<&str>) -> ApiResult<SearchQuery> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default())
            .map_err(|_| bad_query("query", "is not a valid query string"))?;
        let known = search_params(resource_type);
        if let Some((name, _)) = pairs.iter().find(|(name, _)| !known.iter().any(|p| p.name == name.as_str())) {
            let names: Vec<&str> = known.iter().map(|p| p.name).collect();
            return Err(bad_query(
                name,
                format!("is not a search parameter of {resource_type}; use {}", names.join(", ")),
            ));
        }
        Ok(SearchQuery { resource_type, pairs })
    }

    /// The one value of `name`; given twice is refused.
    pub fn one<'a>(&'a self, name: &'a str) -> ApiResult<Option<&'a str>> {
        let mut values = self.all(name);
        match (values.next(), values.next()) {
            (value, None) => Ok(value),
            _ => Err(bad_query(name, "may be given once")),
        }
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn count(&self) -> ApiResult<usize> {
        params::count(self.one("_count")?).map_err(|why| bad_query("_count", why))
    }

    /// The URL of this search with `replace` set (and nothing else of that
    /// name): the next page's link.
    pub fn url(&self, base: &str, replace: Option<(&str, &str)>) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .pairs
            .iter()
            .filter(|(n, _)| replace.is_none_or(|(r, _)| r != n))
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        if let Some(pair) = replace {
            pairs.push(pair);
        }
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if query.is_empty() {
            format!("{base}/{}", self.resource_type)
        } else {
            format!("{base}/{}?{query}", self.resource_type)
        }
    }

    /// Every pair but those named `name`.
    pub fn pairs_without(&self, name: &str) -> Vec<(String, String)> {
        self.pairs.iter().filter(|(n, _)| n != name).cloned().collect()
    }

    /// The searchset Bundle of one page: `resources` with their ids, and a
    /// next link when `next_cursor` says more follow.
    pub fn bundle(&self, base: &str, resources: Vec<Value>, next_cursor: Option<&str>, total: Option<usize>) -> Fhir {
        let next = next_cursor.map(|c| self.url(base, Some(("_cursor", c))));
        self.bundle_linking(base, resources, next.as_deref(), total)
    }

    /// The same, with the next page's link written by the caller.
    pub fn bundle_linking(&self, base: &str, resources: Vec<Value>, next: Option<&str>, total: Option<usize>) -> Fhir {
        let entries = resources
            .into_iter()
            .map(|resource| Entry {
                full_url: resource["id"].as_str().map(|id| format!("{base}/{}/{id}", self.resource_type)),
                resource,
            })
            .collect();
        Fhir::ok(bundle::searchset(&self.url(base, None), next, total, entries))
    }
}

/// A page of `items` sorted by `key`, after `cursor`: the page and the
/// cursor of the page after, if any.
pub fn page_after<T>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> String,
    cursor: Option<&str>,
    count: usize,
) -> (Vec<T>, Option<String>) {
    items.sort_by_key(&key);
    if let Some(cursor) = cursor {
        items.retain(|item| key(item).as_str() > cursor);
    }
    let more = items.len() > count;
    items.truncate(count);
    let next = if more { items.last().map(&key) } else { None };
    (items, next)
}

/// What this organisation's FHIR base supports.
#[utoipa::path(get, path = "/fhir/{org_id}/metadata", tag = "fhir",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, description = "CapabilityStatement", content_type = "application/fhir+json", body = Object),
        (status = 404, description = "OperationOutcome")),
    security(("bearer" = [])))]
pub async fn metadata(
    axum::extract::State(state): axum::extract::State<AppState>,
    member: Member,
    headers: HeaderMap,
) -> Fhir {
    let base = base_url(&state, &headers, &member);
    Fhir::ok(capability_statement(&base, &member.org.name, env!("CARGO_PKG_VERSION"), CAPABILITY_DATE))
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(metadata))
        .routes(utoipa_axum::routes!(appointments::search_appointments))
        .routes(utoipa_axum::routes!(appointments::read_appointment))
        .routes(utoipa_axum::routes!(operations::find))
        .routes(utoipa_axum::routes!(operations::hold))
        .routes(utoipa_axum::routes!(operations::book))
        .routes(utoipa_axum::routes!(slots::search_slots))
        .routes(utoipa_axum::routes!(slots::read_slot))
        .routes(utoipa_axum::routes!(people::search_practitioners))
        .routes(utoipa_axum::routes!(people::read_practitioner))
        .routes(utoipa_axum::routes!(people::search_patients))
        .routes(utoipa_axum::routes!(people::read_patient))
        .routes(utoipa_axum::routes!(people::search_schedules))
        .routes(utoipa_axum::routes!(people::read_schedule))
        .routes(utoipa_axum::routes!(people::search_groups))
        .routes(utoipa_axum::routes!(people::read_group))
}
