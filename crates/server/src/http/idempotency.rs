//! `Idempotency-Key` on creating POSTs, with Stripe's semantics: the same key
//! and the same request replay the stored response; the same key with a
//! different request is 422; a retry while the first is still running is
//! 409. Keys live in the database, so they survive restarts and are shared
//! by every server instance.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use circles_store::model::{IdempotencyStart, Principal, StoredResponse};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use crate::state::AppState;

pub const HEADER: &str = "idempotency-key";

/// Put in a response's extensions by a handler whose answer shows a secret
/// once (an API token, a login session, later feed tokens or webhook
/// secrets): such a response is never stored for replay, because stored
/// responses are plain text at rest and secrets are kept only as hashes.
/// A replay of its key answers 409 `idempotent_secret_not_replayable`.
#[derive(Debug, Clone, Copy)]
pub struct CarriesSecret;

fn secret_not_replayable() -> ApiError {
    ApiError::conflict(
        "idempotent_secret_not_replayable",
        "the response to this Idempotency-Key showed a secret, which is not kept; \
         list the resource to find what was created, or send a new key to create another",
    )
}

fn parse_key(value: &HeaderValue) -> Result<String, ApiError> {
    let key = value.to_str().unwrap_or_default();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        let mut error =
            ApiError::bad_request("invalid_idempotency_key", "Idempotency-Key must be 1–255 visible ASCII characters");
        error.errors.push(circles_domain::FieldError::new("Idempotency-Key", "must be 1–255 visible ASCII characters"));
        return Err(error);
    }
    Ok(key.to_owned())
}

/// Responses worth replaying: the request ran and its outcome is final.
/// Input errors, auth failures, rate limits and server errors are not kept,
/// so the client can fix the problem and retry with the same key.
fn is_final(status: StatusCode) -> bool {
    status.is_success() || matches!(status.as_u16(), 404 | 409 | 410)
}

pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let (Some(value), Some(principal)) =
        (req.headers().get(HEADER).cloned(), req.extensions().get::<Principal>().cloned())
    else {
        return next.run(req).await;
    };
    match run(&state, principal, value, req, next).await {
        Ok(response) | Err(response) => response,
    }
}

async fn run(
    state: &AppState,
    principal: Principal,
    value: HeaderValue,
    req: Request,
    next: Next,
) -> Result<Response, Response> {
    let key = parse_key(&value).map_err(IntoResponse::into_response)?;
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, state.settings.max_body_bytes).await.map_err(|_| {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "the request body is too large").into_response()
    })?;
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str());
    hasher.update([0]);
    hasher.update(parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or_default());
    hasher.update([0]);
    hasher.update(&bytes);
    let fingerprint: [u8; 32] = hasher.finalize().into();

    let account = principal.account_id;
    let store = &state.store;
    match store.idempotency_begin(account, &key, fingerprint).await.map_err(|e| ApiError::from(e).into_response())? {
        IdempotencyStart::Replay(stored) => return Ok(replay(stored)),
        IdempotencyStart::Mismatch => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request; use a new key",
            )
            .into_response());
        }
        IdempotencyStart::InFlight => {
            return Err(ApiError::conflict(
                "idempotency_key_in_flight",
                "a request with this Idempotency-Key is still being processed; retry shortly",
            )
            .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
            .into_response());
        }
        IdempotencyStart::Proceed => {}
    }

    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let status = response.status();
    if !is_final(status) {
        if let Err(e) = store.idempotency_release(account, &key).await {
            tracing::warn!(error = %e, "could not release an idempotency key");
        }
        return Ok(response);
    }
    if response.extensions().get::<CarriesSecret>().is_some() {
        // Keep the key (a replay must not run the request twice) but store
        // the refusal a replay gets instead of the secret.
        let refusal = secret_not_replayable().into_response();
        let (parts, body) = refusal.into_parts();
        let body = to_bytes(body, usize::MAX).await.map_err(|e| ApiError::internal(e).into_response())?;
        if let Err(e) = store.idempotency_finish(account, &key, stored(&parts, &body)).await {
            tracing::warn!(error = %e, "could not store an idempotent response");
        }
        let mut response = response;
        response.headers_mut().insert(HEADER, value);
        return Ok(response);
    }
    let (mut parts, body) = response.into_parts();
    let body = to_bytes(body, usize::MAX).await.map_err(|e| ApiError::internal(e).into_response())?;
    if let Err(e) = store.idempotency_finish(account, &key, stored(&parts, &body)).await {
        tracing::warn!(error = %e, "could not store an idempotent response");
    }
    parts.headers.insert(HEADER, value);
    Ok(Response::from_parts(parts, Body::from(body)))
}

fn stored(parts: &axum::http::response::Parts, body: &[u8]) -> StoredResponse {
    let content_type =
        parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json").to_owned();
    StoredResponse { status: parts.status.as_u16(), content_type, body: body.to_vec() }
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&stored.content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
