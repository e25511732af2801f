//! Under `/fhir/` every error answer is an `OperationOutcome`: the problem
//! document any layer made (the membership check, authentication, the
//! idempotency layer, a handler, the router) is rewritten with the same
//! status, its code, its refused fields and its retry hints.

use axum::body::{Body, to_bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use circles_domain::fhir::FHIR_JSON;
use circles_domain::fhir::bundle::{Failure, FieldIssue, operation_outcome};
use serde_json::Value;

/// Whether a request is for the FHIR API.
pub fn is_fhir(path: &str) -> bool {
    path.starts_with("/fhir/")
}

/// Problem documents are small; anything larger is not one.
const MAX_PROBLEM_BYTES: usize = 1024 * 1024;

pub async fn as_outcome(response: Response) -> Response {
    let status = response.status();
    let is_fhir_json =
        response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(FHIR_JSON.as_bytes()));
    if !(status.is_client_error() || status.is_server_error()) || is_fhir_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = to_bytes(body, MAX_PROBLEM_BYTES).await.unwrap_or_default();
    let problem: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let reason = status.canonical_reason().unwrap_or("error");
    let errors = problem["errors"].as_array().cloned().unwrap_or_default();
    let failure = Failure {
        status: status.as_u16(),
        code: problem["code"].as_str().unwrap_or("error"),
        detail: problem["detail"].as_str().unwrap_or(reason),
        fields: errors
            .iter()
            .map(|e| FieldIssue {
                field: e["field"].as_str().unwrap_or(""),
                reason: e["reason"].as_str().unwrap_or(""),
            })
            .collect(),
        retry_hints: problem["retry_hints"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| h.as_str()?.parse().ok())
            .collect(),
    };
    let outcome = operation_outcome(&failure);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(outcome.to_string()))
}
