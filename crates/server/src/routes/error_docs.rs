//! The refusals every route shares, written into the OpenAPI document once
//! instead of on each handler: a client generated from the document then
//! knows that any secured call may answer 401, any body 400/413/415/422, and
//! that every error is an RFC 9457 problem document — or, under `/fhir/`,
//! an `OperationOutcome` (`http::fhir_outcome` turns them into one).

use circles_domain::fhir::FHIR_JSON;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr};

const PROBLEM: &str = "application/problem+json";
const OPERATION_OUTCOME: &str = "OperationOutcome";

/// How a route's errors are written.
#[derive(Clone, Copy)]
enum ErrorForm {
    Problem,
    OperationOutcome,
}

impl ErrorForm {
    fn of(path: &str) -> ErrorForm {
        if crate::http::fhir_outcome::is_fhir(path) { ErrorForm::OperationOutcome } else { ErrorForm::Problem }
    }

    fn content_type(self) -> &'static str {
        match self {
            ErrorForm::Problem => PROBLEM,
            ErrorForm::OperationOutcome => FHIR_JSON,
        }
    }

    fn schema(self) -> &'static str {
        match self {
            ErrorForm::Problem => "Problem",
            ErrorForm::OperationOutcome => OPERATION_OUTCOME,
        }
    }
}

/// Adds the shared refusals to every operation and labels every error
/// response with the form the server writes it in.
pub fn document_shared_errors(openapi: &mut OpenApi) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        let form = ErrorForm::of(path);
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            add_shared_refusals(operation, form);
            label_errors(operation, form);
        }
    }
    let components = openapi.components.get_or_insert_with(Default::default);
    components.schemas.insert(OPERATION_OUTCOME.to_owned(), operation_outcome_schema());
}

/// What `http::fhir_outcome` writes: the problem's title and each refused
/// field as an issue.
fn operation_outcome_schema() -> RefOr<Schema> {
    let issue = ObjectBuilder::new()
        .property("severity", ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)))
        .property("code", ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)))
        .property("diagnostics", ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)))
        .required("severity")
        .required("code");
    ObjectBuilder::new()
        .description(Some("A FHIR R4 OperationOutcome: why the request was refused."))
        .property(
            "resourceType",
            ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)).enum_values(Some([OPERATION_OUTCOME])),
        )
        .property("issue", utoipa::openapi::schema::ArrayBuilder::new().items(issue))
        .required("resourceType")
        .required("issue")
        .into()
}

fn add_shared_refusals(operation: &mut Operation, form: ErrorForm) {
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
        operation.responses.responses.entry(status.to_owned()).or_insert_with(|| error_response(description, form));
    }
}

fn error_content(form: ErrorForm) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(Ref::from_schema_name(form.schema()))).build()
}

fn error_response(description: &str, form: ErrorForm) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new().description(description).content(form.content_type(), error_content(form)).into()
}

/// Error responses declared with `body = Problem` arrive as plain JSON, and
/// FHIR ones with no body at all; the server sends every one in its form.
fn label_errors(operation: &mut Operation, form: ErrorForm) {
    for (status, response) in operation.responses.responses.iter_mut() {
        let RefOr::T(response) = response else { continue };
        if !(status.starts_with('4') || status.starts_with('5')) {
            continue;
        }
        match form {
            ErrorForm::Problem => {
                if let Some(json) = response.content.shift_remove("application/json") {
                    response.content.insert(PROBLEM.to_owned(), json);
                }
            }
            ErrorForm::OperationOutcome => {
                response.content.clear();
                response.content.insert(FHIR_JSON.to_owned(), error_content(form));
            }
        }
    }
}
