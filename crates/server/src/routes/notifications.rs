//! The caller's inbox.

use axum::extract::State;
use circles_domain::ids::NotificationId;
use circles_domain::local_time::local_time;
use circles_store::model::{Labels, Mentions, Notification};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::labels::labels_of;
use super::page::{Page, page_mapped, parse_time_cursor, time_cursor};
use super::query::page_limit;
use super::views::Problem;
use crate::auth::Member;
use crate::http::error::ApiResult;
use crate::http::extract::{Path, Query};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: Uuid,
    /// invitation, invitation_accepted, invitation_declined,
    /// invitation_withdrawn, session_scheduled, session_cancelled, reminder,
    /// member_joined, seat_confirmed, proposal_pending,
    /// proposal_approved, proposal_rejected, instant_started,
    /// session_rescheduled, membership_activated, time_off_requested,
    /// time_off_approved, time_off_denied, time_off_cancelled,
    /// coverage_assigned, coverage_needed, therapist_away,
    /// session_reassigned, availability_changed.
    pub kind: String,
    pub title: String,
    pub body: String,
    pub session_id: Option<Uuid>,
    #[schema(example = "Tuesday grief circle")]
    pub session_title: Option<String>,
    pub group_id: Option<Uuid>,
    #[schema(example = "Grief support")]
    pub group_name: Option<String>,
    pub read: bool,
    /// When it arrived, on the organisation's clock ("Thu 10 Dec, 18:00 EST").
    pub created_at_local: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
}

impl NotificationView {
    fn new(n: Notification, labels: &Labels, zone: &str) -> Self {
        Self {
            id: n.id.0,
            kind: n.kind,
            title: n.title,
            body: n.body,
            session_id: n.session_id.map(|s| s.0),
            session_title: n.session_id.and_then(|s| labels.session(s)),
            group_id: n.group_id.map(|g| g.0),
            group_name: n.group_id.and_then(|g| labels.group(g)),
            read: n.read_at.is_some(),
            created_at_local: local_time(n.created_at, zone),
            created_at: n.created_at,
        }
    }
}

/// What a notification names: its session and group.
fn mention(mentions: &mut Mentions, n: &Notification) {
    mentions.session(n.session_id).group(n.group_id);
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    /// Only unread notifications.
    pub unread: Option<bool>,
    /// At most this many (default 50, at most 500).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the page before.
    #[param(format = "time-cursor")]
    pub cursor: Option<String>,
}

/// The caller's notifications, newest first.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/notifications", tag = "notifications",
    params(("org_id" = Uuid, Path), InboxQuery),
    responses((status = 200, body = Page<NotificationView>), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn inbox(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<InboxQuery>,
) -> ApiResult<axum::Json<Page<NotificationView>>> {
    let limit = page_limit(query.limit, 50, 500)?;
    let after = parse_time_cursor::<Uuid>(query.cursor.as_deref())?.map(|(at, id)| (at, NotificationId(id)));
    let unread = query.unread.unwrap_or(false);
    // One more than the page, to know whether another follows.
    let items = state.store.notification_page(member.org_id(), member.person_id, unread, after, limit + 1).await?;
    let labels = labels_of(&state, member.org_id(), &items, mention).await?;
    let zone = &member.org.timezone;
    let cursor = |n: &Notification| time_cursor(n.created_at, n.id.0);
    Ok(axum::Json(page_mapped(items, limit, cursor, |n| NotificationView::new(n, &labels, zone))))
}

/// Marks one of the caller's notifications read.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/notifications/{notification_id}/read", tag = "notifications",
    params(("org_id" = Uuid, Path), ("notification_id" = Uuid, Path)),
    responses((status = 200, body = NotificationView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn mark_read(
    State(state): State<AppState>,
    member: Member,
    Path((_org_id, notification_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<NotificationView>> {
    let read =
        state.store.mark_notification_read(member.org_id(), member.person_id, NotificationId(notification_id)).await?;
    let labels = labels_of(&state, member.org_id(), std::slice::from_ref(&read), mention).await?;
    Ok(axum::Json(NotificationView::new(read, &labels, &member.org.timezone)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedRead {
    pub marked: u64,
}

/// Marks every notification of the caller read.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/notifications/read-all", tag = "notifications",
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = MarkedRead), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn mark_all_read(State(state): State<AppState>, member: Member) -> ApiResult<axum::Json<MarkedRead>> {
    let marked = state.store.mark_all_notifications_read(member.org_id(), member.person_id).await?;
    Ok(axum::Json(MarkedRead { marked }))
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(inbox))
        .routes(utoipa_axum::routes!(mark_read))
        .routes(utoipa_axum::routes!(mark_all_read))
}
