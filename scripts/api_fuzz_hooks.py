"""Schemathesis checks for `scripts/api-fuzz`.

`schema_valid_request_accepted`: a request generated to fit the OpenAPI
document must not be answered 400 or 422. The only exceptions are the
cross-field and clock rules a schema cannot express; each one is allowed
only where the operation's own part of the document states it in words,
so a rule the document stops stating is reported again.
"""

import json

import schemathesis

# (field the problem document names, words in its reason, words the
# operation's part of the OpenAPI document must contain).
DOCUMENTED_CROSS_FIELD_RULES = []


def _operation_text(case):
    """The operation's part of the document, references followed, as text."""
    document = case.operation.schema.raw_schema
    seen = set()

    def expand(node):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/") and ref not in seen:
                seen.add(ref)
                target = document
                for part in ref[2:].split("/"):
                    target = target.get(part, {})
                return expand(target)
            return {k: expand(v) for k, v in node.items()}
        if isinstance(node, list):
            return [expand(v) for v in node]
        return node

    operation = document["paths"][case.operation.path][case.operation.method.lower()]
    return json.dumps(expand(operation))


def _documented(case, field, reason):
    text = None
    for rule_field, rule_reason, stated in DOCUMENTED_CROSS_FIELD_RULES:
        if field.endswith(rule_field) and rule_reason in reason:
            text = text or _operation_text(case)
            if stated in text:
                return True
    return False


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
    errors = problem.get("errors") or []
    if errors and all(_documented(case, e.get("field", ""), e.get("reason", "")) for e in errors):
        return None
    raise AssertionError(
        f"schema-valid request answered {response.status_code} {problem.get('code')}: {problem.get('detail')}"
    )
