use axum::extract::State;
use circles_domain::authz::Action;
use circles_domain::ids::PersonId;
use circles_domain::local_time::local_time;
use circles_store::model::{AuditEntry, Keyset};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::page::{Page, arrival_cursor, page_mapped, parse_arrival_cursor};
use super::query::page_limit;
use super::views::Problem;
use crate::auth::Member;
use crate::http::error::ApiResult;
use crate::http::extract::Query;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditFilter {
    /// Only events about this client.
    pub subject_id: Option<Uuid>,
    /// At most this many events (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the page before.
    #[param(format = "arrival-cursor")]
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    /// Its place in the organisation's hash chain; null for the moment
    /// between its commit and its sealing.
    pub seq: Option<i64>,
    /// When it happened, where the organisation is ("Thu 10 Dec, 18:00 EST").
    pub occurred_at_local: String,
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: Timestamp,
    pub actor_account_id: Option<Uuid>,
    /// Who acted; null for the system's own acts.
    pub actor_name: Option<String>,
    pub actor_person_id: Option<Uuid>,
    pub subject_person_id: Option<Uuid>,
    /// The client the event is about, if any.
    pub subject_name: Option<String>,
    pub action: String,
    pub record_type: String,
    pub record_id: String,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    /// What the event records beyond its action, e.g. `late_entry` on an
    /// attendance mark.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl AuditEventView {
    fn new(e: AuditEntry, zone: &str) -> Self {
        Self {
            seq: e.seq,
            occurred_at_local: local_time(e.occurred_at, zone),
            occurred_at: e.occurred_at,
            actor_account_id: e.actor_account_id.map(|a| a.0),
            actor_name: e.actor_name,
            actor_person_id: e.actor_person_id.map(|p| p.0),
            subject_person_id: e.subject_person_id.map(|p| p.0),
            subject_name: e.subject_name,
            action: e.action,
            record_type: e.record_type,
            record_id: e.record_id,
            request_id: e.request_id,
            ip: e.ip,
            details: e.details,
        }
    }
}

/// The organisation's audit trail, newest first (admins only).
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/audit", tag = "audit",
    params(("org_id" = Uuid, Path), AuditFilter),
    responses((status = 200, body = Page<AuditEventView>), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_events(
    State(state): State<AppState>,
    member: Member,
    Query(filter): Query<AuditFilter>,
) -> ApiResult<axum::Json<Page<AuditEventView>>> {
    member.authorize(Action::ViewAudit)?;
    let limit = page_limit(filter.limit, 100, 1000)?;
    let after = parse_arrival_cursor(filter.cursor.as_deref())?;
    // One more than the page, to know whether another follows.
    let page = Keyset { after, limit: limit + 1 };
    let events = state.store.audit_page(member.org_id(), filter.subject_id.map(PersonId), page).await?;
    let zone = &member.org.timezone;
    Ok(axum::Json(page_mapped(events, limit, |e| arrival_cursor(e.arrival), |e| AuditEventView::new(e, zone))))
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(list_events))
}
