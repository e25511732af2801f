use axum::extract::State;
use circles_domain::authz::Action;
use circles_domain::ids::PersonId;
use circles_store::model::AuditEntry;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::query::page_limit;
use super::views::{Items, Problem};
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
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    /// Its place in the organisation's hash chain; null for the moment
    /// between its commit and its sealing.
    pub seq: Option<i64>,
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: Timestamp,
    pub actor_account_id: Option<Uuid>,
    pub actor_person_id: Option<Uuid>,
    pub subject_person_id: Option<Uuid>,
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

impl From<AuditEntry> for AuditEventView {
    fn from(e: AuditEntry) -> Self {
        Self {
            seq: e.seq,
            occurred_at: e.occurred_at,
            actor_account_id: e.actor_account_id.map(|a| a.0),
            actor_person_id: e.actor_person_id.map(|p| p.0),
            subject_person_id: e.subject_person_id.map(|p| p.0),
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
    responses((status = 200, body = Items<AuditEventView>), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_events(
    State(state): State<AppState>,
    member: Member,
    Query(filter): Query<AuditFilter>,
) -> ApiResult<axum::Json<Items<AuditEventView>>> {
    member.authorize(Action::ViewAudit)?;
    let limit = page_limit(filter.limit, 100, 1000)?;
    let events = state.store.audit_events(member.org_id(), filter.subject_id.map(PersonId), limit).await?;
    Ok(axum::Json(Items::of(events)))
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(list_events))
}
