//! Calendar subscription feeds: a person creates, rotates and revokes secret
//! feed links (the token is shown once, kept only as a hash), and calendars
//! fetch `GET /ical/{token}.ics` without signing in. Each fetch is audited;
//! a rotated or revoked link answers 404 like one that never existed.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use circles_domain::feed::{FeedPrivacy, feed_window};
use circles_domain::ids::FeedId;
use circles_domain::local_time::local_time;
use circles_domain::validation::Validator;
use circles_store::model::{AuditCtx, Feed};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::page::{Page, PageQuery, page_mapped, time_cursor};
use super::views::Problem;
use crate::auth::{Caller, RequestMeta, token};
use crate::delivery::compose::Sender;
use crate::delivery::feed::{etag, feed_calendar, matches};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Json, Path, Query};
use crate::http::idempotency::CarriesSecret;
use crate::state::AppState;

/// Feed tokens carry their own prefix, so a leaked link is recognisable.
pub const FEED_PREFIX: &str = "cif_";

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedView {
    pub id: Uuid,
    /// `full` (titles and places) or `limited` (only "Busy" or "Group session").
    #[schema(example = "limited")]
    pub privacy: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// In the zone the person chose in their preferences (UTC if none).
    #[schema(example = "Thu 10 Dec, 18:00 EST")]
    pub created_at_local: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_fetched_at: Option<Timestamp>,
    pub last_fetched_at_local: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub rotated_at: Option<Timestamp>,
    pub rotated_at_local: Option<String>,
}

impl FeedView {
    fn new(feed: Feed, zone: &str) -> Self {
        Self {
            id: feed.id.0,
            privacy: feed.privacy.as_str().to_owned(),
            created_at_local: local_time(feed.created_at, zone),
            created_at: feed.created_at,
            last_fetched_at_local: feed.last_fetched_at.map(|t| local_time(t, zone)),
            last_fetched_at: feed.last_fetched_at,
            rotated_at_local: feed.rotated_at.map(|t| local_time(t, zone)),
            rotated_at: feed.rotated_at,
        }
    }
}

/// A feed with its secret link, shown only in the response that made it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedLinkView {
    #[serde(flatten)]
    pub feed: FeedView,
    /// The secret token; the links below carry it.
    pub token: String,
    /// For calendars that subscribe by address.
    #[schema(example = "https://circles.example/ical/cif_….ics")]
    pub url: String,
    /// Opens the person's calendar program ready to subscribe.
    #[schema(example = "webcal://circles.example/ical/cif_….ics")]
    pub webcal_url: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFeedRequest {
    /// `full` or `limited`; clients get `limited` unless they choose.
    pub privacy: Option<String>,
}

/// Where links point: the configured public address, or the host asked.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(public) = &state.settings.public_url {
        return public.trim_end_matches('/').to_owned();
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    format!("http://{host}")
}

fn link(state: &AppState, headers: &HeaderMap, feed: Feed, secret: String, zone: &str) -> FeedLinkView {
    let url = format!("{}/ical/{secret}.ics", base_url(state, headers));
    let webcal_url = format!("webcal://{}", url.split_once("://").map_or(url.as_str(), |(_, rest)| rest));
    FeedLinkView { feed: FeedView::new(feed, zone), token: secret, url, webcal_url }
}

/// The zone the person reads times in.
async fn zone(state: &AppState, caller: &Caller) -> ApiResult<String> {
    super::me::own_zone(state, caller.principal.account_id).await
}

/// Creates a calendar feed link; the token is shown only in this response.
#[utoipa::path(post, path = "/api/v1/me/feeds", tag = "me", request_body = CreateFeedRequest,
    responses((status = 201, body = FeedLinkView), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_feed(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Json(body): Json<CreateFeedRequest>,
) -> ApiResult<(StatusCode, Extension<CarriesSecret>, axum::Json<FeedLinkView>)> {
    let mut v = Validator::default();
    let privacy = v.check_opt("privacy", body.privacy.as_deref().map(str::parse::<FeedPrivacy>));
    let privacy = v.done(|| privacy)?;
    let secret = token::generate(FEED_PREFIX);
    let feed =
        state.store.create_feed(&caller.ctx(), caller.principal.account_id, privacy, token::hash(&secret)).await?;
    let zone = zone(&state, &caller).await?;
    Ok((StatusCode::CREATED, Extension(CarriesSecret), axum::Json(link(&state, &headers, feed, secret, &zone))))
}

/// The caller's live feed links (never their tokens).
#[utoipa::path(get, path = "/api/v1/me/feeds", tag = "me",
    params(PageQuery), responses((status = 200, body = Page<FeedView>), (status = 400, body = Problem),
        (status = 401, body = Problem)), security(("bearer" = [])))]
pub async fn list_feeds(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<PageQuery>,
) -> ApiResult<axum::Json<Page<FeedView>>> {
    let (limit, page) = query.keyset()?;
    let zone = zone(&state, &caller).await?;
    let feeds = state.store.feeds(caller.principal.account_id, page).await?;
    let cursor = |f: &Feed| time_cursor(f.created_at, f.id.0);
    Ok(axum::Json(page_mapped(feeds, limit, cursor, |f| FeedView::new(f, &zone))))
}

/// Gives a feed a new link; the old one answers 404 from now on.
#[utoipa::path(post, path = "/api/v1/me/feeds/{feed_id}/rotate", tag = "me", params(("feed_id" = Uuid, Path)),
    responses((status = 200, body = FeedLinkView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn rotate_feed(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(feed_id): Path<Uuid>,
) -> ApiResult<(Extension<CarriesSecret>, axum::Json<FeedLinkView>)> {
    let secret = token::generate(FEED_PREFIX);
    let hash = token::hash(&secret);
    let feed = state.store.rotate_feed(&caller.ctx(), caller.principal.account_id, FeedId(feed_id), hash).await?;
    let zone = zone(&state, &caller).await?;
    Ok((Extension(CarriesSecret), axum::Json(link(&state, &headers, feed, secret, &zone))))
}

/// Ends a feed link.
#[utoipa::path(delete, path = "/api/v1/me/feeds/{feed_id}", tag = "me", params(("feed_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn revoke_feed(
    State(state): State<AppState>,
    caller: Caller,
    Path(feed_id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    state.store.revoke_feed(&caller.ctx(), caller.principal.account_id, FeedId(feed_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A person's sessions from 30 days back to a year ahead as an iCalendar
/// feed (RFC 5545), for calendar programs that subscribe. `file` is the
/// feed token followed by `.ics`. Answers 304 to a matching
/// `If-None-Match`, 404 for an unknown, rotated or revoked token, and 429
/// when one link is fetched too often.
#[utoipa::path(get, path = "/ical/{file}", tag = "me", params(("file" = String, Path, description = "`<token>.ics`")),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 304),
        (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn fetch_feed(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> ApiResult<Response> {
    let secret = file.strip_suffix(".ics").filter(|t| t.starts_with(FEED_PREFIX)).ok_or(ApiError::not_found("feed"))?;
    let hash = token::hash(secret);
    if let Err(wait) = state.feed_limiter.check(&hash) {
        let seconds = wait.as_secs().max(1).to_string();
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_feed_fetches",
            "this feed link was fetched too often; calendars need it at most hourly",
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from_str(&seconds).expect("digits")));
    }
    let ctx =
        AuditCtx { request_id: meta.request_id.clone(), ip: meta.ip.map(|ip| ip.to_string()), ..AuditCtx::default() };
    let (from, to) = feed_window(state.clock.now());
    let contents = state.store.fetch_feed(&ctx, hash, from, to).await?.ok_or(ApiError::not_found("feed"))?;
    let domain = Sender::parse(&state.settings.mail_from).map_err(ApiError::internal)?.domain;
    let ics = feed_calendar(&contents, &domain);
    let tag = etag(&ics);
    let tag_header = HeaderValue::from_str(&tag).expect("hex in quotes");
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| matches(v, &tag)) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag_header), cache]).into_response());
    }
    let content_type = HeaderValue::from_static("text/calendar; charset=utf-8");
    Ok(([(header::CONTENT_TYPE, content_type), (header::ETAG, tag_header), cache], ics).into_response())
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(create_feed, list_feeds))
        .routes(utoipa_axum::routes!(rotate_feed))
        .routes(utoipa_axum::routes!(revoke_feed))
        .routes(utoipa_axum::routes!(fetch_feed))
}
