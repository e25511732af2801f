//! What the OpenAPI document says about query parameters, beyond what the
//! derive macros write: a query parameter is never `null` (it is absent or
//! has a value), and a filter over a closed set lists the set the domain
//! spells, so a client (or a schema-driven fuzzer) sends only values the
//! server accepts.

use circles_domain::delivery::DeliveryState;
use circles_domain::session::{InvitationStatus, Modality, SessionKind, SessionStatus};
use circles_domain::waitlist::{EntryStatus, OfferStatus};
use serde_json::Value;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{Schema, SchemaType, Type};
use utoipa::openapi::{OpenApi, RefOr};

/// The wire spellings of a closed set, in the domain's order.
fn spelled<T: Copy>(all: &[T], wire: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|&v| wire(v)).collect()
}

/// (route, query parameter, the values it takes). Filters also accept any
/// case of these; the document lists the wire spelling.
fn closed_sets() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    vec![
        ("/api/v1/orgs/{org_id}/offers", "status", spelled(OfferStatus::ALL, OfferStatus::wire)),
        ("/api/v1/orgs/{org_id}/waitlist", "status", spelled(EntryStatus::ALL, EntryStatus::wire)),
        ("/api/v1/orgs/{org_id}/sessions", "status", spelled(SessionStatus::ALL, SessionStatus::wire)),
        ("/api/v1/orgs/{org_id}/invitations", "status", spelled(InvitationStatus::ALL, InvitationStatus::wire)),
        ("/api/v1/orgs/{org_id}/invitations", "kind", spelled(SessionKind::ALL, SessionKind::wire)),
        ("/api/v1/orgs/{org_id}/deliveries", "state", spelled(DeliveryState::ALL, DeliveryState::wire)),
        ("/api/v1/orgs/{org_id}/availability", "modality", spelled(Modality::ALL, Modality::wire)),
        ("/api/v1/orgs/{org_id}/availability/free-at", "modality", spelled(Modality::ALL, Modality::wire)),
    ]
}

pub fn document_query_values(openapi: &mut OpenApi) {
    let sets = closed_sets();
    for (path, name, _) in &sets {
        assert!(openapi.paths.paths.contains_key(*path), "no route {path} for the values of `{name}`");
    }
    for (path, item) in openapi.paths.paths.iter_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            never_null(operation);
        }
        // The filters are on the listings, which are GETs.
        if let Some(listing) = item.get.as_mut() {
            for (_, name, values) in sets.iter().filter(|(p, _, _)| p == path) {
                list_values(listing, name, values);
            }
        }
    }
}

/// `Option<T>` fields derive as `T or null`; a query string cannot say null.
fn never_null(operation: &mut Operation) {
    for parameter in operation.parameters.iter_mut().flatten() {
        if parameter.parameter_in != ParameterIn::Query {
            continue;
        }
        match parameter.schema.as_mut() {
            Some(RefOr::T(Schema::Object(object))) => {
                if let SchemaType::Array(types) = &object.schema_type {
                    let mut rest = types.iter().filter(|t| **t != Type::Null);
                    if let (Some(only), None) = (rest.next(), rest.next()) {
                        object.schema_type = SchemaType::Type(only.clone());
                    }
                }
            }
            Some(RefOr::T(Schema::OneOf(one_of))) => {
                let not_null: Vec<_> = one_of
                    .items
                    .iter()
                    .filter(|item| !matches!(item, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null)))
                    .cloned()
                    .collect();
                if let [only] = not_null.as_slice() {
                    parameter.schema = Some(only.clone());
                }
            }
            _ => {}
        }
    }
}

fn list_values(operation: &mut Operation, name: &str, values: &[&'static str]) {
    let parameter = operation.parameters.iter_mut().flatten().find(|p| p.name == name);
    let Some(parameter) = parameter else { panic!("the document has no query parameter `{name}` to list values for") };
    let Some(RefOr::T(Schema::Object(object))) = parameter.schema.as_mut() else {
        panic!("query parameter `{name}` is not a plain string")
    };
    object.pattern = None;
    object.enum_values = Some(values.iter().map(|v| Value::from(*v)).collect());
}
