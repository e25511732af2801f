//! Who is calling: bearer tokens and session cookies, resolved once per
//! request by [`authenticate`], then read by the [`Caller`] extractor.

pub mod cache;
pub mod csrf;
pub mod password;
pub mod rate_limit;
pub mod token;

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, RawPathParams, Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use circles_domain::Role;
use circles_domain::authz::{Action, authorize};
use circles_domain::ids::{OrgId, PersonId};
use circles_store::model::{AuditCtx, Organisation, Principal};
use uuid::Uuid;

use crate::http::error::{ApiError, ApiResult};
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "circles_session";

/// Marks a request that presented a token which is unknown, expired or
/// revoked, so the 401 can say so.
#[derive(Clone, Copy)]
struct StaleToken;

fn presented_token(req: &Request) -> Option<String> {
    if let Some(value) = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, token) = value.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned());
    }
    req.headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// Middleware: resolves the presented token to a [`Principal`].
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if let Some(token) = presented_token(&req) {
        let hash = token::hash(&token);
        let now = state.clock.now();
        let resolved = match state.auth_cache.principal(&hash, now) {
            Some(principal) => Ok(Some(principal)),
            None => state.store.authenticate(hash, now).await,
        };
        match resolved {
            Ok(Some(principal)) => {
                state.auth_cache.remember_principal(hash, &principal);
                req.extensions_mut().insert(principal);
            }
            Ok(None) => {
                req.extensions_mut().insert(StaleToken);
            }
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    next.run(req).await
}

/// Where a request came from, for audit events and rate limits.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub request_id: Option<String>,
    pub ip: Option<IpAddr>,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let request_id = parts.headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        Ok(Self { request_id, ip })
    }
}

/// An authenticated caller. Rejects with 401 when the request carries no
/// valid token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub meta: RequestMeta,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let meta = RequestMeta::from_request_parts(parts, state).await.expect("infallible");
        match parts.extensions.get::<Principal>() {
            Some(principal) => Ok(Caller { principal: principal.clone(), meta }),
            None if parts.extensions.get::<StaleToken>().is_some() => {
                let mut error = ApiError::unauthorized();
                error.detail = "the token is unknown, expired or revoked; sign in again".into();
                Err(error)
            }
            None => Err(ApiError::unauthorized()),
        }
    }
}

impl Caller {
    /// Audit context for platform-level changes (no organisation).
    pub fn ctx(&self) -> AuditCtx {
        AuditCtx {
            account_id: Some(self.principal.account_id),
            person_id: None,
            request_id: self.meta.request_id.clone(),
            ip: self.meta.ip.map(|ip| ip.to_string()),
        }
    }

    /// The caller as a member of `org`. Not being a member is 404: an
    /// organisation one does not belong to does not exist as far as one can
    /// tell.
    pub async fn member(&self, state: &AppState, org: OrgId) -> ApiResult<Member> {
        let account = self.principal.account_id;
        let membership = match state.auth_cache.membership(account, org) {
            Some(cached) => cached,
            None => {
                let found =
                    state.store.membership(account, org).await?.ok_or_else(|| ApiError::not_found("organisation"))?;
                state.auth_cache.remember_membership(account, &found);
                found
            }
        };
        Ok(Member {
            ctx: self.ctx().acting_as(membership.person_id),
            org: membership.org,
            person_id: membership.person_id,
            role: membership.role,
        })
    }
}

/// An authenticated caller inside one organisation.
///
/// As an extractor it reads `org_id` from the path and decides membership
/// before anything else about the request is looked at: extractors of the
/// request's parts run before the body is parsed, so a stranger to the
/// organisation gets 404 whatever the body, and learns nothing about what
/// a route expects.
#[derive(Debug, Clone)]
pub struct Member {
    pub org: Organisation,
    pub person_id: PersonId,
    pub role: Role,
    pub ctx: AuditCtx,
}

impl FromRequestParts<AppState> for Member {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::internal("Member used on a route without path parameters"))?;
        let raw = params
            .iter()
            .find_map(|(name, value)| (name == "org_id").then_some(value))
            .ok_or_else(|| ApiError::internal("Member used on a route without {org_id}"))?;
        let org_id = raw.parse::<Uuid>().map_err(|e| {
            let mut error = ApiError::bad_request("invalid_path_parameter", format!("`org_id` is not a UUID: {e}"));
            error.errors.push(circles_domain::FieldError::new("org_id", "must be a UUID"));
            error
        })?;
        caller.member(state, OrgId(org_id)).await
    }
}

impl Member {
    pub fn org_id(&self) -> OrgId {
        self.org.id
    }

    /// 403 with the reason when the caller's role may not do `action`.
    pub fn authorize(&self, action: Action) -> ApiResult<()> {
        authorize(self.role, action).map_err(|denied| ApiError::forbidden(denied.0))
    }
}
