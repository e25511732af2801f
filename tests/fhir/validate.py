"""Validates FHIR resources with the Python `fhir.resources` models (R4B, the
R4 technical correction: the same scheduling resources). Reads a JSON array
of resources on stdin, prints one line per refused resource, exits 1 when
any is refused. The Rust API tests run it on every resource the server sends.
"""
import json
import sys

from fhir.resources.R4B import get_fhir_model_class

resources = json.load(sys.stdin)
refused = 0
for i, resource in enumerate(resources):
    try:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    except Exception as error:  # every refusal is reported, whatever its kind
        refused += 1
        print(f"resource {i} ({resource.get('resourceType')}): {error}")
print(f"fhir.resources: {len(resources) - refused} of {len(resources)} valid")
sys.exit(1 if refused else 0)
