//! A forgotten password: asking for a reset link by e-mail, and setting a
//! new password with it. Both work without signing in.

use axum::extract::State;
use axum::http::StatusCode;
use circles_domain::account_mail::{RESET_LINK_LIFETIME, ResetRefusal};
use circles_domain::input::{Email, Password};
use circles_domain::validation::Validator;
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::{audit_ctx, limit_attempts};
use super::views::Problem;
use crate::auth::{RequestMeta, token};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::Json;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// The account's e-mail address.
    #[schema(format = Email, example = "ada@example.org")]
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirm {
    /// The token at the end of the e-mailed link (`/password-reset/{token}`).
    #[schema(pattern = "^cir_[A-Za-z0-9_-]{43}$")]
    pub token: String,
    /// At least 10 characters.
    #[schema(format = "password-policy", min_length = 10, max_length = 1024)]
    pub new_password: String,
}

/// Asks for an e-mail with a link that sets a new password (it works once,
/// for an hour). The answer is the same whether or not an account has the
/// address, so nobody learns which addresses have accounts.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth", request_body = ResetRequest,
    responses(
        (status = 202, description = "if an account has this address, a link is on its way"),
        (status = 422, body = Problem),
        (status = 429, body = Problem, description = "too many attempts; see Retry-After"),
    ))]
pub async fn request_reset(
    State(state): State<AppState>,
    meta: RequestMeta,
    Json(body): Json<ResetRequest>,
) -> ApiResult<StatusCode> {
    let email = Email::parse(&body.email).map_err(|reason| ApiError::field("email", reason))?;
    // Each request sends an e-mail: limited like sign-in, per address too,
    // so nobody floods a mailbox.
    limit_attempts(&state, &meta, &email)?;
    state.store.request_password_reset(&audit_ctx(&meta), &email, RESET_LINK_LIFETIME).await?;
    Ok(StatusCode::ACCEPTED)
}

/// The refusal of a link that does not set a password.
pub fn refused(refusal: ResetRefusal) -> ApiError {
    let status = match refusal {
        ResetRefusal::Unknown => StatusCode::NOT_FOUND,
        ResetRefusal::Used | ResetRefusal::Expired => StatusCode::GONE,
    };
    ApiError::new(status, refusal.code(), refusal.words())
}

/// Sets a new password with the token of an e-mailed reset link. The link
/// is spent, and every login session of the account ends (API tokens stay).
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth", request_body = ResetConfirm,
    responses(
        (status = 204),
        (status = 404, body = Problem, description = "`reset_link_unknown`: no link has this token"),
        (status = 410, body = Problem, description = "`reset_link_used` or `reset_link_expired`"),
        (status = 422, body = Problem),
    ))]
pub async fn confirm_reset(
    State(state): State<AppState>,
    meta: RequestMeta,
    Json(body): Json<ResetConfirm>,
) -> ApiResult<StatusCode> {
    let mut v = Validator::default();
    if body.token.is_empty() {
        v.reject("token", "is required");
    }
    let new = v.check("new_password", Password::parse(&body.new_password));
    let new = v.done(|| new)?;
    let hash = state.passwords.hash(&new).await;
    let reset = state.store.reset_password(&audit_ctx(&meta), token::hash(&body.token), hash).await?;
    let reset = reset.map_err(refused)?;
    state.auth_cache.forget_account_tokens(reset.account.id);
    Ok(StatusCode::NO_CONTENT)
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(request_reset))
        .routes(utoipa_axum::routes!(confirm_reset))
}
