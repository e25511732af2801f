//! What the FHIR API supports, spelled once: the CapabilityStatement is
//! written from this table, and the handlers refuse any search parameter
//! it does not list, so the statement cannot claim more or less than the
//! server does.

use serde_json::{Value, json};

/// One search parameter: its name, FHIR type and what it does here.
pub struct SearchParam {
    pub name: &'static str,
    pub kind: &'static str,
    pub documentation: &'static str,
}

/// One resource type: its search parameters and operations.
pub struct ResourceSupport {
    pub resource_type: &'static str,
    pub search: &'static [SearchParam],
    /// (name, canonical definition).
    pub operations: &'static [(&'static str, &'static str)],
}

const COUNT: SearchParam =
    SearchParam { name: "_count", kind: "number", documentation: "Entries per page, 1 to 100 (20 by default)." };
const CURSOR: SearchParam = SearchParam {
    name: "_cursor",
    kind: "string",
    documentation: "Where a page starts; opaque: follow the Bundle's next link.",
};

/// Everything served, resource by resource.
pub const SUPPORTED: &[ResourceSupport] = &[
    ResourceSupport {
        resource_type: "Appointment",
        search: &[
            SearchParam {
                name: "date",
                kind: "date",
                documentation: "The start: a date (the whole local day) or date-time, with eq, ge, gt, le or lt; repeat to bound both ends.",
            },
            SearchParam {
                name: "actor",
                kind: "reference",
                documentation: "A Practitioner or Patient on the appointment.",
            },
            SearchParam { name: "patient", kind: "reference", documentation: "A Patient on the appointment." },
            SearchParam {
                name: "practitioner",
                kind: "reference",
                documentation: "A Practitioner on the appointment.",
            },
            SearchParam {
                name: "status",
                kind: "token",
                documentation: "proposed, booked, fulfilled, cancelled or noshow (other R4 codes find nothing).",
            },
            COUNT,
            CURSOR,
        ],
        operations: &[
            ("find", "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-find"),
            ("hold", "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-hold"),
            ("book", "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-book"),
        ],
    },
    ResourceSupport {
        resource_type: "Slot",
        search: &[
            SearchParam { name: "schedule", kind: "reference", documentation: "The therapist's Schedule (required)." },
            SearchParam {
                name: "start",
                kind: "date",
                documentation: "With ge/gt and le/lt: the stretch searched, at most 62 days (the next 7 days by default).",
            },
            SearchParam {
                name: "status",
                kind: "token",
                documentation: "free (the free-slot search finds it) or busy-tentative (a live hold has it, at the length held); both when not given.",
            },
            SearchParam {
                name: "duration",
                kind: "number",
                documentation: "Slot length in minutes, 5 to 720 (60 by default).",
            },
            COUNT,
        ],
        operations: &[],
    },
    ResourceSupport {
        resource_type: "Schedule",
        search: &[
            SearchParam { name: "actor", kind: "reference", documentation: "The Practitioner whose schedule it is." },
            COUNT,
            CURSOR,
        ],
        operations: &[],
    },
    ResourceSupport { resource_type: "Practitioner", search: &[COUNT, CURSOR], operations: &[] },
    ResourceSupport { resource_type: "Patient", search: &[COUNT, CURSOR], operations: &[] },
    ResourceSupport { resource_type: "Group", search: &[COUNT, CURSOR], operations: &[] },
];

/// The search parameters `resource_type` takes.
pub fn search_params(resource_type: &str) -> &'static [SearchParam] {
    SUPPORTED.iter().find(|r| r.resource_type == resource_type).map_or(&[], |r| r.search)
}

/// The CapabilityStatement of one organisation's FHIR base.
pub fn capability_statement(base_url: &str, org_name: &str, version: &str, date: &str) -> Value {
    let resources: Vec<Value> = SUPPORTED
        .iter()
        .map(|r| {
            let mut resource = json!({
                "type": r.resource_type,
                "interaction": [{ "code": "read" }, { "code": "search-type" }],
                "searchParam": r.search.iter().map(|p| json!({
                    "name": p.name, "type": p.kind, "documentation": p.documentation,
                })).collect::<Vec<_>>(),
            });
            if !r.operations.is_empty() {
                resource["operation"] = json!(
                    r.operations
                        .iter()
                        .map(|(name, definition)| json!({ "name": name, "definition": definition }))
                        .collect::<Vec<_>>()
                );
            }
            resource
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "kind": "instance",
        "software": { "name": "Circles", "version": version },
        "implementation": { "description": format!("Circles scheduling for {org_name}"), "url": base_url },
        "fhirVersion": super::FHIR_VERSION,
        "format": [super::FHIR_JSON],
        "rest": [{
            "mode": "server",
            "documentation": "Read-only views of sessions, groups and people, and the IHE Scheduling operations \
                $find, $hold and $book over Circles' holds. Send `Authorization: Bearer <token>`; \
                an Idempotency-Key on $hold and $book replays the first answer.",
            "security": { "description": "Bearer API tokens, with the same roles as the JSON API." },
            "resource": resources,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_lists_every_resource_with_its_parameters() {
        let cs = capability_statement("http://x/fhir/o", "Clinic", "1.0.0", "2026-11-30");
        let resources = cs["rest"][0]["resource"].as_array().unwrap();
        let types: Vec<&str> = resources.iter().map(|r| r["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["Appointment", "Slot", "Schedule", "Practitioner", "Patient", "Group"]);
        let appointment = &resources[0];
        let names: Vec<&str> =
            appointment["searchParam"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["date", "actor", "patient", "practitioner", "status", "_count", "_cursor"]);
        let ops: Vec<&str> =
            appointment["operation"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
        assert_eq!(ops, ["find", "hold", "book"]);
        assert!(resources[1].get("operation").is_none());
        assert_eq!(cs["fhirVersion"], "4.0.1");
    }

    #[test]
    fn search_params_are_looked_up_by_type() {
        assert!(search_params("Slot").iter().any(|p| p.name == "schedule"));
        assert!(search_params("Observation").is_empty());
    }
}
