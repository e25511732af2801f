"""Schemathesis checks for `scripts/api-fuzz`.

`schema_valid_request_accepted`: a request generated to fit the OpenAPI
document must not be answered 400 or 422. The only exceptions are the rules
between fields (or against the clock, or naming records that must exist)
that a JSON Schema cannot state. Each is allowed only where the operation's
own part of the document states it in words, so a rule the document stops
stating is reported again.
"""

import schemathesis

# (field the refusal names, or None for any; words in its reason; words the
# operation's part of the OpenAPI document says).
DOCUMENTED_RULES = [
    # Against the clock.
    (None, "must be in the future", "in the future"),
    # Between fields.
    ("to", "must be after from", "after `from`"),
    ("to", "may be at most 93 days after from", "at most 93"),
    ("to", "a search spans at most 62 days", "at most 62 days after it"),
    ("ends_at", "one request covers at most 366 days", "at most 366 days after `starts_at`"),
    ("starts_at", "must be an RFC 3339 instant", "required unless the session is instant"),
    ("end", "must be after start", "After `start`"),
    ("latest_date", "must not be before earliest_date", "Not before `earliest_date`"),
    ("to", "must not be before from", "not before `from`"),
    ("to", "a generation covers at most 366 days", "a generation covers at most 366 days"),
    ("ends_at", "must be after starts_at", "after `starts_at`"),
    ("ends_at", "must be after starts_at", "ends after it starts"),
    ("ends_at", "a slot lasts at most 24 hours", "at most 24 hours later"),
    ("end_date", "must not be before start_date", "not before `start_date`"),
    ("rrule", "selects no date", "selects at least one date"),
    ("recurrence", "send either occurrences or recurrence, not both", "either occurrences or recurrence, not both"),
    ("occurrences", "slots must not overlap one another", "slots do not overlap one another"),
    ("client_id", "must differ from therapist_id", "`client_id` differs from `therapist_id`"),
    (None, "a one-on-one session", "A one-on-one session has exactly one therapist, one client and one seat"),
    ("group_id", "is required for group and instant sessions", "A group or instant session names its `group_id`"),
    ("therapist_ids", "invite at least one of the group's facilitators", "invites at least one of the group's facilitators"),
    ("client_ids", "members take seats by joining the session", "members take seats by joining"),
    ("capacity", "must be between 2 and 50", "has a capacity of 2 to 50"),
    ("starts_at", "an instant session starts now", "an instant session starts now"),
    ("virtual_link", "is required for a VIRTUAL", "needs `virtual_link`"),
    (None, "is listed twice", "Every id is listed once"),
    ("body", "change at least one of", "Change at least one of"),
    ("client_id", "is required when staff put someone on a waitlist", "required when staff put someone on a waitlist"),
    (None, "unknown field `k`", "`k` is given with PARALLEL and only with it"),
    (None, "missing field `k`", "`k` is given with PARALLEL and only with it"),
    ("group_id", "is required for a GROUP waitlist", "For GROUP, and required for it"),
    ("session_id", "is required for a GROUP_SESSION waitlist", "For GROUP_SESSION, and required for it"),
    ("session_id", "send one of session_id", "Send exactly one of `session_id`"),
    ("starts_at", "a slot needs starts_at and ends_at", "`therapist_id` with `starts_at` and `ends_at`"),
    ("name", "is required", "Required when creating a group"),
    ("enabled", "cannot be turned off", "cannot be turned off"),
    ("end_time", "must be after start_time", "after `start_time`"),
    ("duration_minutes", "is required", "needs its `duration_minutes`"),
    # A FHIR operation's inputs are named `Parameters` entries, which JSON
    # Schema cannot require by name; each operation's description names them.
    ("start", "is required", "`start` and `end` (required"),
    ("end", "is required", "`start` and `end` (required"),
    (None, "the end must be after the start", "leave a range whose end is after its start"),
    (None, "a search spans at most 62 days", "a search spans at most 62 days"),
    (None, "must be a date-time with an offset", "with its offset"),
    ("practitioner", "does not name a Practitioner", "a `Practitioner` or `Patient` reference or id"),
    ("practitioner", "must refer to a Practitioner", "a `Practitioner` or `Patient` reference or id"),
    ("patient", "does not name a Patient", "a `Practitioner` or `Patient` reference or id"),
    ("patient", "must refer to a Patient", "a `Practitioner` or `Patient` reference or id"),
    ("_count", "must be 1 to 100", "a `valueInteger` of 1 to 100"),
    (None, "must be a valueReference", "as a `valueReference`"),
    (None, "must be a valueInteger", "`valueInteger` of"),
    ("minutesDuration", "must be 5 to 720 minutes", "5 to 720 minutes"),
    ("appointment", "is required", "Parameters with `appointment`"),
    ("appointment", "must carry an Appointment", "Parameters with `appointment`"),
    ("appointment", "does not name an Appointment", "Parameters with `appointment`"),
    ("appointment", "must refer to an Appointment", "Parameters with `appointment`"),
    (None, "must be a valueDateTime", "a `valueDateTime` with its offset"),
    (None, "is required", "as $find proposed it"),
    ("participant", "must name exactly one", "exactly one Practitioner and one Patient"),
    (None, "is not a date", "a real calendar date"),
    # The network, which only a request to it can tell.
    ("url", "does not resolve", "its host resolves"),
    ("url", "loopback or private-network address", "no loopback or private-network address"),
    ("url", "must be an http:// or https:// address", "as RFC 3986 writes one"),
    # Records that must exist, and who may write what.
    ("client_id", "is not a client of this organisation", "a client of this organisation"),
    ("group_id", "is not a group of this organisation", "a group of this organisation"),
    (None, "is not a therapist of this organisation", "a therapist of this organisation"),
    ("moderator_ids", "is not an admin or moderator of this organisation", "an admin or moderator of this organisation"),
    ("current_password", "is not your current password", "any other is refused"),
    ("notes", "only staff write clinical notes", "staff only"),
]


def _strings(node, document, seen):
    """Every text in `node`, `$ref`s followed."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/") and ref not in seen:
            seen.add(ref)
            target = document
            for part in ref[2:].split("/"):
                target = target.get(part, {})
            yield from _strings(target, document, seen)
        for value in node.values():
            yield from _strings(value, document, seen)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value, document, seen)
    elif isinstance(node, str):
        yield node


def _operation_text(case):
    """What the operation's part of the document says, in one line."""
    document = case.operation.schema.raw_schema
    operation = document["paths"][case.operation.path][case.operation.method.lower()]
    return " ".join(" ".join(_strings(operation, document, set())).split())


def _documented(text, field, reason):
    field = field.split(".")[-1].split("[")[0]
    text, reason = text.lower(), reason.lower()
    return any(
        (rule_field is None or field == rule_field) and rule_reason.lower() in reason and stated.lower() in text
        for rule_field, rule_reason, stated in DOCUMENTED_RULES
    )


def _refusals(answer):
    """The refused fields of a problem document or a FHIR OperationOutcome,
    as `{"field", "reason"}`."""
    if answer.get("resourceType") != "OperationOutcome":
        return answer.get("errors") or []
    refusals = []
    for issue in answer.get("issue") or []:
        field = (issue.get("expression") or [""])[0]
        text = (issue.get("details") or {}).get("text", "")
        if not field:
            return []
        refusals.append({"field": field, "reason": text.removeprefix(f"{field}: ")})
    return refusals


@schemathesis.check
def schema_valid_request_accepted(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code not in (400, 422):
        return None
    try:
        problem = response.json()
    except ValueError:
        raise AssertionError(f"schema-valid request answered {response.status_code} without a problem document")
    errors = _refusals(problem)
    if errors:
        text = _operation_text(case)
        if all(_documented(text, e.get("field", ""), e.get("reason", "")) for e in errors):
            return None
    raise AssertionError(
        f"schema-valid request answered {response.status_code} {problem.get('code')}: {problem.get('detail')}"
    )
