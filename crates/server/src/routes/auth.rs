use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use circles_domain::input::Email;
use circles_store::model::{NewToken, TokenKind};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::me::own_zone;
use super::views::{AccountView, Problem};
use crate::auth::{Caller, RequestMeta, SESSION_COOKIE, token};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::Json;
use crate::http::idempotency::CarriesSecret;
use crate::state::AppState;
use circles_domain::local_time::local_time;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(format = Email, example = "admin@riverside.example")]
    pub email: String,
    #[schema(min_length = 1, example = "circles-demo")]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`; also set as an HttpOnly cookie.
    pub token: String,
    pub token_type: &'static str,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    /// In the zone the person chose in their preferences (UTC if none).
    #[schema(example = "Fri 11 Dec, 18:00 EST")]
    pub expires_at_local: String,
    pub account: AccountView,
}

fn invalid_credentials() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "e-mail or password is wrong")
}

/// Password login: returns a bearer token and sets a session cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, body = Problem, description = "wrong e-mail or password"),
        (status = 422, body = Problem),
        (status = 429, body = Problem, description = "too many attempts; see Retry-After"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    meta: RequestMeta,
    Json(body): Json<LoginRequest>,
) -> ApiResult<Response> {
    let email = Email::parse(&body.email).map_err(|reason| ApiError::field("email", reason))?;
    if body.password.is_empty() {
        return Err(ApiError::field("password", "is required"));
    }
    limit_attempts(&state, &meta, &email)?;
    let ctx = audit_ctx(&meta);
    let credentials = state.store.credentials(&email).await?;
    let verified = match credentials.as_ref().and_then(|c| c.password_hash.as_deref()) {
        Some(hash) => state.passwords.verify(&body.password, hash).await,
        None => {
            state.passwords.verify_dummy(&body.password).await;
            false
        }
    };
    let Some(credentials) = credentials.filter(|_| verified) else {
        state.store.record_login_failure(&ctx, &email).await?;
        return Err(invalid_credentials());
    };

    let secret = token::generate(token::SESSION_PREFIX);
    let expires_at = state.clock.now() + SignedDuration::from_hours(i64::from(state.settings.session_hours));
    let new_token = NewToken {
        account_id: credentials.account_id,
        kind: TokenKind::Session,
        name: "password login".into(),
        token_hash: token::hash(&secret),
        expires_at: Some(expires_at),
    };
    state.store.create_token(&ctx, new_token).await?;
    let account = state.store.account(credentials.account_id).await?;
    let zone = own_zone(&state, account.id).await?;

    let cookie = session_cookie(&state, &secret, state.settings.session_hours * 3600);
    let body = LoginResponse {
        token: secret,
        token_type: "Bearer",
        expires_at,
        expires_at_local: local_time(expires_at, &zone),
        account: AccountView::new(account, &zone),
    };
    Ok(([(SET_COOKIE, cookie)], axum::Extension(CarriesSecret), axum::Json(body)).into_response())
}

fn session_cookie(state: &AppState, value: &str, max_age_seconds: u32) -> HeaderValue {
    let secure = if state.settings.cookies_secure() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}"
    ))
    .expect("token characters are cookie-safe")
}

/// Ends the current session (or revokes the API token used to call this).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = Problem)), security(("bearer" = [])))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    state.store.revoke_token(&caller.ctx(), caller.principal.account_id, caller.principal.token_id).await?;
    state.auth_cache.forget_account_tokens(caller.principal.account_id);
    Ok(([(SET_COOKIE, session_cookie(&state, "", 0))], StatusCode::NO_CONTENT).into_response())
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(login)).routes(utoipa_axum::routes!(logout))
}

/// Sign-in's limit on attempts, per address and per e-mail: 429 with
/// `Retry-After` once reached. Asking for a password reset shares it.
pub fn limit_attempts(state: &AppState, meta: &RequestMeta, email: &Email) -> ApiResult<()> {
    let Some(ip) = meta.ip else { return Ok(()) };
    state.login_limiter.check(ip, email.as_str()).map_err(|wait| {
        let seconds = wait.as_secs().max(1).to_string();
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_login_attempts", "too many attempts; wait and retry")
            .with_header(axum::http::header::RETRY_AFTER, HeaderValue::from_str(&seconds).expect("digits"))
    })
}

/// Who asked, for the audit log, before anyone is signed in.
pub fn audit_ctx(meta: &RequestMeta) -> circles_store::model::AuditCtx {
    circles_store::model::AuditCtx {
        request_id: meta.request_id.clone(),
        ip: meta.ip.map(|ip| ip.to_string()),
        ..Default::default()
    }
}
