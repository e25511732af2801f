//! The refusals every route shares, written into the OpenAPI document once
//! instead of on each handler: a client generated from the document then
//! knows that any secured call may answer 401, any body 400/413/415/422, and
//! that every error is an RFC 9457 problem document.

use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr};

const PROBLEM: &str = "application/problem+json";

/// Adds the shared refusals to every operation and labels every error
/// response `application/problem+json`.
pub fn document_shared_errors(openapi: &mut OpenApi) {
    for item in openapi.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            add_shared_refusals(operation);
            label_problems(operation);
        }
    }
}

fn add_shared_refusals(operation: &mut Operation) {
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_parameters = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let has_body = operation.request_body.is_some();
    let mut shared = Vec::new();
    if secured {
        shared.push(("401", "Not signed in: no, an expired or a revoked token"));
    }
    if has_parameters || has_body {
        shared.push(("400", "A malformed path, query or body"));
    }
    if has_body {
        shared.push(("413", "The body is larger than the server accepts"));
        shared.push(("415", "The body is not `application/json`"));
        shared.push(("422", "A field was refused: `errors` names each field and why"));
    }
    for (status, description) in shared {
        operation.responses.responses.entry(status.to_owned()).or_insert_with(|| problem_response(description));
    }
}

fn problem_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
    ResponseBuilder::new().description(description).content(PROBLEM, content).into()
}

/// Error responses declared with `body = Problem` arrive as plain JSON;
/// the server sends them as problem documents.
fn label_problems(operation: &mut Operation) {
    for (status, response) in operation.responses.responses.iter_mut() {
        let RefOr::T(response) = response else { continue };
        if !(status.starts_with('4') || status.starts_with('5')) {
            continue;
        }
        if let Some(json) = response.content.shift_remove("application/json") {
            response.content.insert(PROBLEM.to_owned(), json);
        }
    }
}
