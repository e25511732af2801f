//! Every error answer is a problem document, including those the router
//! and the HTTP layer make on their own (a method a route does not have, a
//! path no route has), and the request-line and header limits.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// The longest request target accepted (path and query): room for an
/// availability search naming its 500 therapists.
pub const MAX_URI_BYTES: usize = 32 * 1024;
/// The most header fields, and header bytes, a request may carry.
pub const MAX_HEADERS: usize = 100;
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Middleware: refuses requests over the limits above, and turns an error
/// response that is not yet a problem document into one — or, under
/// `/fhir/`, into an `OperationOutcome`.
pub async fn problems_only(req: Request, next: Next) -> Response {
    let fhir = super::fhir_outcome::is_fhir(req.uri().path());
    let response = problem_documents(req, next).await;
    if fhir { super::fhir_outcome::as_outcome(response).await } else { response }
}

async fn problem_documents(req: Request, next: Next) -> Response {
    if let Some(refusal) = over_limits(&req) {
        return refusal.into_response();
    }
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_problem(&response) || is_page(&response) {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let problem = problem_for(status).into_response();
    let (problem_parts, body) = problem.into_parts();
    parts.headers.insert(header::CONTENT_TYPE, problem_parts.headers[header::CONTENT_TYPE].clone());
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::new(body))
}

/// A page answers its errors as a page (the form again, the refusal next to
/// its field): that is for a person, and stays as it is.
fn is_page(response: &Response) -> bool {
    response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
}

fn is_problem(response: &Response) -> bool {
    response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"))
}

fn over_limits(req: &Request) -> Option<ApiError> {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        return Some(ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the request target is longer than {MAX_URI_BYTES} bytes"),
        ));
    }
    let headers = req.headers();
    let bytes: usize = headers.iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return Some(ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("send at most {MAX_HEADERS} header fields and {MAX_HEADER_BYTES} bytes of headers"),
        ));
    }
    None
}

fn problem_for(status: StatusCode) -> ApiError {
    let (code, detail) = match status {
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "this route does not take this method; see `Allow`"),
        StatusCode::NOT_FOUND => ("not_found", "route not found"),
        StatusCode::PAYLOAD_TOO_LARGE => ("body_too_large", "the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "send the body as JSON"),
        StatusCode::REQUEST_TIMEOUT => ("request_timeout", "the request took too long to arrive"),
        s if s.is_client_error() => ("bad_request", "the request was refused"),
        _ => ("internal_error", "something went wrong on our side"),
    };
    ApiError::new(status, code, detail)
}
