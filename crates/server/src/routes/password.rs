//! Changing one's own password.

use axum::extract::State;
use axum::http::StatusCode;
use circles_domain::input::{Email, Password};
use circles_domain::validation::Validator;
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::Problem;
use crate::auth::Caller;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::Json;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The account's password now: any other is refused.
    #[schema(min_length = 1)]
    pub current_password: String,
    /// At least 10 characters.
    #[schema(format = "password-policy", min_length = 10, max_length = 1024)]
    pub new_password: String,
}

/// Sets a new password after checking the current one; every login session
/// of the account ends (API tokens stay).
#[utoipa::path(post, path = "/api/v1/me/password", tag = "me", request_body = PasswordChange,
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem, description = "too many attempts; see Retry-After")),
    security(("bearer" = [])))]
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<PasswordChange>,
) -> ApiResult<StatusCode> {
    let account = state.store.account(caller.principal.account_id).await?;
    let email = Email::parse(&account.email).map_err(ApiError::internal)?;
    let mut v = Validator::default();
    if body.current_password.is_empty() {
        v.reject("current_password", "is required");
    }
    let new = v.check("new_password", Password::parse(&body.new_password));
    let new = v.done(|| new)?;
    // Guessing the current password through here counts like guessing at login.
    if let Some(ip) = caller.meta.ip
        && state.login_limiter.check(ip, email.as_str()).is_err()
    {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_login_attempts",
            "too many attempts; wait a minute and retry",
        ));
    }
    let hash = state.store.credentials(&email).await?.and_then(|c| c.password_hash);
    let verified = match hash {
        Some(hash) => state.passwords.verify(&body.current_password, &hash).await,
        None => false,
    };
    if !verified {
        return Err(ApiError::field("current_password", "is not your current password"));
    }
    let hash = state.passwords.hash(&new).await;
    // The person's own API tokens stay: they chose to change the password.
    state.store.set_password(&caller.ctx(), &email, hash, false).await?;
    state.auth_cache.forget_account_tokens(account.id);
    Ok(StatusCode::NO_CONTENT)
}

/// This module's routes, with their OpenAPI descriptions (merged in [`super::api`]).
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(change_password))
}
