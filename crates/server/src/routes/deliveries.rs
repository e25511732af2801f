//! The outbox, for admins: what went out, what is waiting, what failed, and
//! retrying a failed message.

use axum::extract::State;
use circles_domain::authz::Action;
use circles_domain::delivery::DeliveryState;
use circles_domain::ids::DeliveryId;
use circles_store::model::{Delivery, DeliveryFilter};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::page::{Page, page_mapped, parse_time_cursor, time_cursor};
use super::query::{page_limit, query_parsed};
use super::views::Problem;
use crate::auth::Member;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Path, Query};
use crate::state::AppState;
use circles_domain::local_time::local_time;
use circles_store::model::Labels;

use super::labels::labels_of;

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// Stable across attempts: the e-mail's Message-ID is `<id@sender's domain>`.
    pub id: Uuid,
    /// email or sms.
    pub channel: String,
    /// The person; for the e-mail of an invitation to join, the invitation
    /// (the person takes its id on accepting).
    pub recipient_id: Uuid,
    /// For an invitation's e-mail, the name the admin gave the invitee.
    pub recipient_name: String,
    /// The kind of notification the message carries, or `org_invitation`
    /// for the e-mail of an invitation to join the organisation.
    pub kind: String,
    pub session_id: Option<Uuid>,
    #[schema(example = "Tuesday grief circle")]
    pub session_title: Option<String>,
    /// pending, sending, sent, failed or suppressed.
    pub state: String,
    pub attempts: u32,
    #[schema(value_type = String, format = DateTime)]
    pub next_attempt_at: Timestamp,
    /// `next_attempt_at` in the organisation's zone.
    pub next_attempt_at_local: String,
    pub last_error: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub created_at_local: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sent_at: Option<Timestamp>,
    pub sent_at_local: Option<String>,
}

impl DeliveryView {
    fn new(d: Delivery, labels: &Labels, zone: &str) -> Self {
        let local = |t: Timestamp| local_time(t, zone);
        Self {
            id: d.id.0,
            channel: d.channel.as_str().to_owned(),
            recipient_id: d.recipient_id.0,
            recipient_name: d.recipient_name,
            kind: d.kind.as_str().to_owned(),
            session_id: d.session_id.map(|s| s.0),
            session_title: d.session_id.and_then(|s| labels.session(s)),
            state: d.state.as_str().to_owned(),
            attempts: d.attempts,
            next_attempt_at_local: local(d.next_attempt_at),
            next_attempt_at: d.next_attempt_at,
            last_error: d.last_error,
            created_at_local: local(d.created_at),
            created_at: d.created_at,
            sent_at_local: d.sent_at.map(local),
            sent_at: d.sent_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// Only deliveries in this state: pending, sending, sent, failed or suppressed.
    pub state: Option<String>,
    /// At most this many (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the page before.
    #[param(format = "time-cursor")]
    pub cursor: Option<String>,
}

/// The organisation's outgoing messages, newest first (admins only).
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/deliveries", tag = "deliveries",
    params(("org_id" = Uuid, Path), DeliveryQuery),
    responses((status = 200, body = Page<DeliveryView>), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<DeliveryQuery>,
) -> ApiResult<axum::Json<Page<DeliveryView>>> {
    member.authorize(Action::ManageDeliveries)?;
    let wanted = query.state.map(|s| s.to_ascii_lowercase());
    let limit = page_limit(query.limit, 100, 1000)?;
    let after = parse_time_cursor::<Uuid>(query.cursor.as_deref())?.map(|(at, id)| (at, DeliveryId(id)));
    let state_filter = query_parsed::<DeliveryState>("state", wanted.as_deref())?;
    // One more than the page, to know whether another follows.
    let filter = DeliveryFilter { state: state_filter, after, limit: limit + 1 };
    let found = state.store.deliveries(member.org_id(), filter).await?;
    let labels = labels_of(&state, member.org_id(), &found, |m, d| _ = m.session(d.session_id)).await?;
    let zone = &member.org.timezone;
    let view = |d| DeliveryView::new(d, &labels, zone);
    Ok(axum::Json(page_mapped(found, limit, |d| time_cursor(d.created_at, d.id.0), view)))
}

/// Sends a failed message again, with a fresh round of attempts (admins only).
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/deliveries/{delivery_id}/retry", tag = "deliveries",
    params(("org_id" = Uuid, Path), ("delivery_id" = Uuid, Path)),
    responses((status = 200, body = DeliveryView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn retry_delivery(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, delivery_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<DeliveryView>> {
    // Deliveries are invisible to everyone but admins: to anyone else a
    // delivery id names nothing here, whatever organisation it is from.
    member.authorize(Action::ManageDeliveries).map_err(|_| ApiError::not_found("delivery"))?;
    let retried = state.store.retry_delivery(&member.ctx, member.org_id(), DeliveryId(delivery_id)).await?;
    let one = std::slice::from_ref(&retried);
    let labels = labels_of(&state, member.org_id(), one, |m, d| _ = m.session(d.session_id)).await?;
    Ok(axum::Json(DeliveryView::new(retried, &labels, &member.org.timezone)))
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(list_deliveries))
        .routes(utoipa_axum::routes!(retry_delivery))
}
