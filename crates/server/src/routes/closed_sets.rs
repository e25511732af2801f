//! Closed sets in the OpenAPI document, listed from the domain's spelling
//! so they are written once: a filter or a body field that takes one of a
//! few values says which, and a client (or a schema-driven fuzzer) sends
//! only values the server accepts. Parsing also accepts any case of these;
//! the document lists the wire spelling.
//!
//! Also here: a query parameter is never `null` (it is absent or has a
//! value), whatever `Option<T>` derives to.

use circles_domain::checkin::{ITEM_KINDS, Phase};
use circles_domain::civil::WEEKDAYS;
use circles_domain::delivery::{DeliveryState, OUTBOX_CHANNELS};
use circles_domain::feed::FeedPrivacy;
use circles_domain::fhir::appointment::STATUS_CODES as APPOINTMENT_STATUS_CODES;
use circles_domain::fhir::resources::SLOT_STATUS_CODES;
use circles_domain::group::{GroupType, MembershipStatus, SessionCreation};
use circles_domain::session::{InvitationStatus, Modality, NotificationKind, SeatStatus, SessionKind, SessionStatus};
use circles_domain::waitlist::{EntryStatus, OfferStatus, TargetKind, Urgency};
use circles_domain::webhook::subscribable;
use serde_json::Value;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ArrayItems, Object, Schema, SchemaType, Type};
use utoipa::openapi::{OpenApi, RefOr};

/// The wire spellings of a closed set, in the domain's order.
fn spelled<T: Copy>(all: &[T], wire: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|&v| wire(v)).collect()
}

/// (listing route, query parameter, the values it takes).
fn query_sets() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    let modalities = spelled(Modality::ALL, Modality::wire);
    // One-on-one appointments are never invitations.
    let invited_kinds = [SessionKind::Group, SessionKind::Instant];
    vec![
        ("/api/v1/orgs/{org_id}/offers", "status", spelled(OfferStatus::ALL, OfferStatus::wire)),
        ("/api/v1/orgs/{org_id}/waitlist", "status", spelled(EntryStatus::ALL, EntryStatus::wire)),
        ("/api/v1/orgs/{org_id}/sessions", "status", spelled(SessionStatus::ALL, SessionStatus::wire)),
        ("/api/v1/orgs/{org_id}/invitations", "status", spelled(InvitationStatus::ALL, InvitationStatus::wire)),
        ("/api/v1/orgs/{org_id}/invitations", "kind", spelled(&invited_kinds, SessionKind::wire)),
        ("/api/v1/orgs/{org_id}/deliveries", "state", spelled(DeliveryState::ALL, DeliveryState::wire)),
        ("/api/v1/orgs/{org_id}/availability", "modality", modalities.clone()),
        ("/api/v1/orgs/{org_id}/availability/free-at", "modality", modalities),
        ("/fhir/{org_id}/Slot", "status", SLOT_STATUS_CODES.to_vec()),
        ("/fhir/{org_id}/Appointment", "status", APPOINTMENT_STATUS_CODES.to_vec()),
    ]
}

/// (request schema, property, the values it takes). A list property's
/// items take them.
fn body_sets() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    let modalities = spelled(Modality::ALL, Modality::wire);
    let weekdays: Vec<&'static str> = WEEKDAYS.iter().map(|(name, _)| *name).collect();
    let urgencies = spelled(Urgency::ALL, Urgency::wire);
    vec![
        ("ChannelChoiceRequest", "kind", spelled(NotificationKind::ALL, NotificationKind::wire)),
        ("CreateFeedRequest", "privacy", spelled(FeedPrivacy::ALL, FeedPrivacy::wire)),
        (
            "CreateWebhookRequest",
            "event_types",
            NotificationKind::ALL.iter().copied().filter(|k| subscribable(*k)).map(NotificationKind::wire).collect(),
        ),
        ("ChannelChoiceRequest", "channel", OUTBOX_CHANNELS.iter().map(|c| c.wire()).collect()),
        ("GroupBody", "type", spelled(GroupType::ALL, GroupType::wire)),
        ("GroupBody", "modality", modalities.clone()),
        ("GroupSettingsChange", "session_creation", spelled(SessionCreation::ALL, SessionCreation::wire)),
        ("WeeklyWindow", "weekday", weekdays.clone()),
        ("AttendanceLine", "status", spelled(SeatStatus::ALL, SeatStatus::wire)),
        ("MembershipPatch", "status", spelled(MembershipStatus::ALL, MembershipStatus::wire)),
        ("CreateEntryRequest", "target", spelled(TargetKind::ALL, TargetKind::wire)),
        ("CreateEntryRequest", "urgency", urgencies.clone()),
        ("CreateEntryRequest", "modality", modalities.clone()),
        ("CreateEntryRequest", "weekdays", weekdays.clone()),
        ("UpdateEntryRequest", "urgency", urgencies),
        ("UpdateEntryRequest", "weekdays", weekdays.clone()),
        ("RuleBody", "weekday", weekdays),
        ("RuleBody", "modality", modalities.clone()),
        ("CreateHoldRequest", "modality", modalities.clone()),
        ("CreateSessionRequest", "modality", modalities),
        ("CreateSessionRequest", "kind", spelled(SessionKind::ALL, SessionKind::wire)),
        ("ItemBody", "kind", ITEM_KINDS.to_vec()),
        ("AttachRequest", "phase", spelled(Phase::ALL, Phase::wire)),
    ]
}

pub fn document_closed_sets(openapi: &mut OpenApi) {
    let sets = query_sets();
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
                list_query_values(listing, name, values);
            }
        }
    }
    let schemas = &mut openapi.components.get_or_insert_with(Default::default).schemas;
    for (schema, property, values) in body_sets() {
        let Some(RefOr::T(Schema::Object(object))) = schemas.get_mut(schema) else {
            panic!("the document has no request schema {schema} for the values of `{property}`")
        };
        let Some(RefOr::T(target)) = object.properties.get_mut(property) else {
            panic!("{schema} has no property `{property}` to list values for")
        };
        match target {
            Schema::Object(field) => list_values(field, &values),
            // The lists of a closed set (weekdays) name each value once.
            Schema::Array(list) => match &mut list.items {
                ArrayItems::RefOrSchema(items) => match items.as_mut() {
                    RefOr::T(Schema::Object(item)) => {
                        list_values(item, &values);
                        list.unique_items = true;
                    }
                    _ => panic!("{schema}.{property} is not a list of strings"),
                },
                ArrayItems::False => panic!("{schema}.{property} is not a list of strings"),
            },
            _ => panic!("{schema}.{property} is not a string"),
        }
    }
}

/// `Option<T>` fields derive as `T or null`; a query string or a header
/// cannot say null (it is absent or has a value).
fn never_null(operation: &mut Operation) {
    for parameter in operation.parameters.iter_mut().flatten() {
        if !matches!(parameter.parameter_in, ParameterIn::Query | ParameterIn::Header) {
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

fn list_query_values(operation: &mut Operation, name: &str, values: &[&'static str]) {
    let parameter = operation.parameters.iter_mut().flatten().find(|p| p.name == name);
    let Some(parameter) = parameter else { panic!("the document has no query parameter `{name}` to list values for") };
    let Some(RefOr::T(Schema::Object(object))) = parameter.schema.as_mut() else {
        panic!("query parameter `{name}` is not a plain string")
    };
    list_values(object, values);
}

/// A nullable field keeps `null` among its values: JSON Schema's `enum`
/// holds for every type.
fn list_values(object: &mut Object, values: &[&'static str]) {
    let nullable = matches!(&object.schema_type, SchemaType::Array(types) if types.contains(&Type::Null));
    let mut listed: Vec<Value> = values.iter().map(|v| Value::from(*v)).collect();
    if nullable {
        listed.push(Value::Null);
    }
    object.pattern = None;
    object.enum_values = Some(listed);
}
