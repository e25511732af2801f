use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use circles_domain::ids::{AccountId, TokenId};
use circles_domain::input::Label;
use circles_domain::local_time::local_time;
use circles_domain::validation::Validator;
use circles_store::model::{NewToken, TokenInfo, TokenKind};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::page::{Page, PageQuery, page_mapped, time_cursor};
use super::views::{AccountView, MembershipView, Problem};
use crate::auth::{Caller, token};
use crate::http::error::ApiResult;
use crate::http::extract::{Json, Path, Query};
use crate::http::idempotency::CarriesSecret;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub account: AccountView,
    pub memberships: Vec<MembershipView>,
    /// The IANA zone the person reads times in (pages and messages), set
    /// with `PUT /api/v1/me/preferences`; null means each organisation's own.
    pub timezone: Option<String>,
}

/// The signed-in account and the organisations it belongs to.
#[utoipa::path(get, path = "/api/v1/me", tag = "me",
    responses((status = 200, body = MeResponse), (status = 401, body = Problem)), security(("bearer" = [])))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<MeResponse>> {
    let account = state.store.account(caller.principal.account_id).await?;
    let memberships = state.store.memberships(caller.principal.account_id).await?;
    let timezone = state.store.preferences(caller.principal.account_id).await?.timezone;
    let zone = timezone.as_deref().unwrap_or(UTC);
    Ok(axum::Json(MeResponse {
        memberships: memberships.into_iter().map(|m| MembershipView::new(m, &account.name)).collect(),
        account: AccountView::new(account, zone),
        timezone,
    }))
}

/// Where a person's own records (account, tokens, feeds) are read: the zone
/// of their preferences, UTC if they chose none.
const UTC: &str = "UTC";

/// The zone `account` reads its own records in.
pub async fn own_zone(state: &AppState, account: AccountId) -> ApiResult<String> {
    Ok(state.store.preferences(account).await?.timezone.unwrap_or_else(|| UTC.to_owned()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// What the token is for, e.g. "nightly export".
    #[schema(min_length = 1, format = "text-line", max_length = 100)]
    pub name: String,
    /// Days until it expires; omit for a token that lasts until revoked.
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: Uuid,
    pub name: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
    /// The times above in the zone the person chose (UTC if none).
    #[schema(example = "Mon 7 Dec, 09:10 EST")]
    pub created_at_local: String,
    pub expires_at_local: Option<String>,
    pub revoked_at_local: Option<String>,
}

impl TokenView {
    pub fn new(t: TokenInfo, zone: &str) -> Self {
        let local = |at: Timestamp| local_time(at, zone);
        Self {
            id: t.id.0,
            name: t.name,
            created_at_local: local(t.created_at),
            expires_at_local: t.expires_at.map(local),
            revoked_at_local: t.revoked_at.map(local),
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: TokenView,
    /// The secret, shown only in this response.
    pub token: String,
}

/// Creates a long-lived API token for scripts.
#[utoipa::path(post, path = "/api/v1/me/tokens", tag = "me", request_body = CreateTokenRequest,
    responses((status = 201, body = CreatedToken),
        (status = 409, body = Problem, description = "a replayed Idempotency-Key: the secret is shown only once (`idempotent_secret_not_replayable`)"),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateTokenRequest>,
) -> ApiResult<(StatusCode, Extension<CarriesSecret>, axum::Json<CreatedToken>)> {
    let mut v = Validator::default();
    let name = v.check("name", Label::parse(&body.name, 100));
    let expires_in = v.check_opt(
        "expires_in_days",
        body.expires_in_days.map(|d| if (1..=3650).contains(&d) { Ok(d) } else { Err("must be between 1 and 3650") }),
    );
    let (name, expires_in) = v.done(|| Some((name?, expires_in?)))?;
    let secret = token::generate(token::API_PREFIX);
    let input = NewToken {
        account_id: caller.principal.account_id,
        kind: TokenKind::Api,
        name: name.into_string(),
        token_hash: token::hash(&secret),
        expires_at: expires_in.map(|days| state.clock.now() + SignedDuration::from_hours(24 * i64::from(days))),
    };
    let info = state.store.create_token(&caller.ctx(), input).await?;
    let info = TokenView::new(info, &own_zone(&state, caller.principal.account_id).await?);
    Ok((StatusCode::CREATED, Extension(CarriesSecret), axum::Json(CreatedToken { info, token: secret })))
}

/// The account's API tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/me/tokens", tag = "me",
    params(PageQuery), responses((status = 200, body = Page<TokenView>), (status = 400, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<PageQuery>,
) -> ApiResult<axum::Json<Page<TokenView>>> {
    let (limit, page) = query.keyset()?;
    let zone = own_zone(&state, caller.principal.account_id).await?;
    let tokens = state.store.list_tokens(caller.principal.account_id, page).await?;
    let cursor = |t: &TokenInfo| time_cursor(t.created_at, t.id.0);
    Ok(axum::Json(page_mapped(tokens, limit, cursor, |t| TokenView::new(t, &zone))))
}

/// Revokes one of the account's tokens.
#[utoipa::path(delete, path = "/api/v1/me/tokens/{token_id}", tag = "me",
    params(("token_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(token_id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    state.store.revoke_token(&caller.ctx(), caller.principal.account_id, TokenId(token_id)).await?;
    state.auth_cache.forget_account_tokens(caller.principal.account_id);
    Ok(StatusCode::NO_CONTENT)
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(me))
        .routes(utoipa_axum::routes!(create_token, list_tokens))
        .routes(utoipa_axum::routes!(revoke_token))
}
