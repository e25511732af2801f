//! Webhooks, for an organisation's admins: register endpoints (the signing
//! secret is shown on creation and rotation), switch them on or off, read
//! each one's delivery log and redeliver a message. To anyone but an admin
//! a webhook names nothing: 404, as for another organisation's.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use circles_domain::authz::Action;
use circles_domain::ids::{WebhookId, WebhookMessageId};
use circles_domain::local_time::local_time;
use circles_domain::session::NotificationKind;
use circles_domain::validation::Validator;
use circles_domain::webhook::subscribable;
use circles_store::model::{Keyset, NewWebhook, WebhookEndpoint, WebhookMessage};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::page::{Page, PageQuery, page_mapped, parse_time_cursor, time_cursor};
use super::query::page_limit;
use super::views::Problem;
use crate::auth::Member;
use crate::delivery::webhooks::{new_secret, refuse};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, Path, Query};
use crate::http::idempotency::CarriesSecret;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    /// Notification kinds this endpoint receives, e.g. `session_cancelled`.
    pub event_types: Vec<String>,
    /// False once it failed for days (or an admin switched it off).
    pub enabled: bool,
    pub failing_since_local: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub failing_since: Option<Timestamp>,
    pub disabled_at_local: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub disabled_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub created_at_local: String,
}

impl WebhookView {
    fn new(w: WebhookEndpoint, zone: &str) -> Self {
        let local = |t: Timestamp| local_time(t, zone);
        Self {
            id: w.id.0,
            url: w.url,
            description: w.description,
            event_types: w.event_types.iter().map(|k| k.as_str().to_owned()).collect(),
            enabled: w.disabled_at.is_none(),
            failing_since_local: w.failing_since.map(local),
            failing_since: w.failing_since,
            disabled_at_local: w.disabled_at.map(local),
            disabled_at: w.disabled_at,
            created_at_local: local(w.created_at),
            created_at: w.created_at,
        }
    }
}

/// An endpoint with its signing secret, shown only in this response.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookSecretView {
    #[serde(flatten)]
    pub webhook: WebhookView,
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookMessageView {
    /// The `webhook-id` header: the same on every attempt and redelivery.
    pub id: Uuid,
    pub event_type: String,
    /// pending, sending, sent or failed.
    pub state: String,
    pub attempts: u32,
    pub response_status: Option<i64>,
    pub last_error: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub next_attempt_at: Timestamp,
    pub next_attempt_at_local: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub created_at_local: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sent_at: Option<Timestamp>,
    pub sent_at_local: Option<String>,
}

impl WebhookMessageView {
    fn new(m: WebhookMessage, zone: &str) -> Self {
        Self {
            id: m.id.0,
            event_type: m.event_type,
            state: m.state.as_str().to_owned(),
            attempts: m.attempts,
            response_status: m.response_status,
            last_error: m.last_error,
            next_attempt_at_local: local_time(m.next_attempt_at, zone),
            next_attempt_at: m.next_attempt_at,
            created_at_local: local_time(m.created_at, zone),
            created_at: m.created_at,
            sent_at_local: m.sent_at.map(|t| local_time(t, zone)),
            sent_at: m.sent_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// An https:// (or http://) URL, as RFC 3986 writes one, on the public
    /// internet: its host resolves, and to no loopback or private-network
    /// address.
    #[schema(format = "http-url", max_length = 2000)]
    pub url: String,
    /// Notification kinds to receive; at least one.
    #[schema(min_items = 1)]
    pub event_types: Vec<String>,
    #[serde(default)]
    #[schema(format = "text-line-or-blank", max_length = 500)]
    pub description: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookRequest {
    /// Switch the endpoint on again (its failure record cleared) or off.
    pub enabled: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WebhookLogQuery {
    /// At most this many (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the page before.
    #[param(format = "time-cursor")]
    pub cursor: Option<String>,
}

fn admin(member: &Member) -> ApiResult<()> {
    member.authorize(Action::ManageDeliveries).map_err(|_| ApiError::not_found("webhook"))
}

/// Registers a webhook endpoint; the signing secret is shown only here.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/webhooks", tag = "deliveries", params(("org_id" = Uuid, Path)),
    request_body = CreateWebhookRequest,
    responses((status = 201, body = WebhookSecretView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_webhook(
    State(state): State<AppState>,
    member: Member,
    Json(body): Json<CreateWebhookRequest>,
) -> ApiResult<(StatusCode, Extension<CarriesSecret>, axum::Json<WebhookSecretView>)> {
    admin(&member)?;
    let mut v = Validator::default();
    let refused = refuse(&body.url, state.settings.allow_private_webhooks).await;
    v.check("url", refused.map_or(Ok(()), Err));
    if body.event_types.is_empty() {
        v.check::<(), _>("event_types", Err("name at least one notification kind"));
    }
    let mut kinds = Vec::new();
    for (i, kind) in body.event_types.iter().enumerate() {
        let parsed = kind
            .to_ascii_lowercase()
            .parse::<NotificationKind>()
            .and_then(|k| if subscribable(k) { Ok(k) } else { Err(format!("{k} is not sent to webhooks")) });
        kinds.extend(v.check(&format!("event_types[{i}]"), parsed));
    }
    if body.description.len() > 500 {
        v.check::<(), _>("description", Err("at most 500 characters"));
    }
    v.done(|| Some(()))?;
    kinds.dedup();
    let secret = new_secret();
    let input = NewWebhook { url: body.url, description: body.description, event_types: kinds, secret: secret.clone() };
    let created = state.store.create_webhook(&member.ctx, member.org_id(), input).await?;
    let webhook = WebhookView::new(created, &member.org.timezone);
    Ok((StatusCode::CREATED, Extension(CarriesSecret), axum::Json(WebhookSecretView { webhook, secret })))
}

/// The organisation's webhook endpoints (never their secrets).
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/webhooks", tag = "deliveries",
    params(("org_id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Page<WebhookView>), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    member: Member,
    Query(query): Query<PageQuery>,
) -> ApiResult<axum::Json<Page<WebhookView>>> {
    admin(&member)?;
    let (limit, page) = query.keyset()?;
    let found = state.store.webhooks(member.org_id(), page).await?;
    let zone = &member.org.timezone;
    Ok(axum::Json(page_mapped(found, limit, |w| time_cursor(w.created_at, w.id.0), |w| WebhookView::new(w, zone))))
}

/// Switches an endpoint on (clearing its failure record) or off.
#[utoipa::path(patch, path = "/api/v1/orgs/{org_id}/webhooks/{webhook_id}", tag = "deliveries",
    params(("org_id" = Uuid, Path), ("webhook_id" = Uuid, Path)), request_body = UpdateWebhookRequest,
    responses((status = 200, body = WebhookView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn update_webhook(
    State(state): State<AppState>,
    member: Member,
    Path((_org, id)): Path<(Uuid, Uuid)>,
    Json(body): Json<UpdateWebhookRequest>,
) -> ApiResult<axum::Json<WebhookView>> {
    admin(&member)?;
    let updated = state.store.set_webhook_enabled(&member.ctx, member.org_id(), WebhookId(id), body.enabled).await?;
    Ok(axum::Json(WebhookView::new(updated, &member.org.timezone)))
}

/// Removes an endpoint and its delivery log.
#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/webhooks/{webhook_id}", tag = "deliveries",
    params(("org_id" = Uuid, Path), ("webhook_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    member: Member,
    Path((_org, id)): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    admin(&member)?;
    state.store.delete_webhook(&member.ctx, member.org_id(), WebhookId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret, shown only here; the old one keeps signing (as a
/// second signature) for 24 hours.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/webhooks/{webhook_id}/rotate-secret", tag = "deliveries",
    params(("org_id" = Uuid, Path), ("webhook_id" = Uuid, Path)),
    responses((status = 200, body = WebhookSecretView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    member: Member,
    Path((_org, id)): Path<(Uuid, Uuid)>,
) -> ApiResult<(Extension<CarriesSecret>, axum::Json<WebhookSecretView>)> {
    admin(&member)?;
    let secret = new_secret();
    let rotated =
        state.store.rotate_webhook_secret(&member.ctx, member.org_id(), WebhookId(id), secret.clone()).await?;
    let webhook = WebhookView::new(rotated, &member.org.timezone);
    Ok((Extension(CarriesSecret), axum::Json(WebhookSecretView { webhook, secret })))
}

/// An endpoint's delivery log, newest first.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/webhooks/{webhook_id}/deliveries", tag = "deliveries",
    params(("org_id" = Uuid, Path), ("webhook_id" = Uuid, Path), WebhookLogQuery),
    responses((status = 200, body = Page<WebhookMessageView>), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn webhook_log(
    State(state): State<AppState>,
    member: Member,
    Path((_org, id)): Path<(Uuid, Uuid)>,
    Query(query): Query<WebhookLogQuery>,
) -> ApiResult<axum::Json<Page<WebhookMessageView>>> {
    admin(&member)?;
    let limit = page_limit(query.limit, 100, 1000)?;
    let after = parse_time_cursor::<Uuid>(query.cursor.as_deref())?.map(|(at, m)| (at, WebhookMessageId(m)));
    // One more than the page, to know whether another follows.
    let page = Keyset { after, limit: limit + 1 };
    let found = state.store.webhook_messages_page(member.org_id(), WebhookId(id), page).await?;
    let zone = &member.org.timezone;
    let cursor = |m: &WebhookMessage| time_cursor(m.created_at, m.id.0);
    Ok(axum::Json(page_mapped(found, limit, cursor, |m| WebhookMessageView::new(m, zone))))
}

/// Sends one message again, with the same webhook-id and fresh attempts.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/webhooks/{webhook_id}/deliveries/{message_id}/redeliver",
    tag = "deliveries", params(("org_id" = Uuid, Path), ("webhook_id" = Uuid, Path), ("message_id" = Uuid, Path)),
    responses((status = 200, body = WebhookMessageView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn redeliver(
    State(state): State<AppState>,
    member: Member,
    Path((_org, id, message)): Path<(Uuid, Uuid, Uuid)>,
) -> ApiResult<axum::Json<WebhookMessageView>> {
    admin(&member)?;
    let again =
        state.store.redeliver_webhook(&member.ctx, member.org_id(), WebhookId(id), WebhookMessageId(message)).await?;
    Ok(axum::Json(WebhookMessageView::new(again, &member.org.timezone)))
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(create_webhook, list_webhooks))
        .routes(utoipa_axum::routes!(update_webhook, delete_webhook))
        .routes(utoipa_axum::routes!(rotate_secret))
        .routes(utoipa_axum::routes!(webhook_log))
        .routes(utoipa_axum::routes!(redeliver))
}
