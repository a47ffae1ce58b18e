#!/usr/bin/env python3
"""Validates a Knative Service manifest against the OpenAPI schema of Knative's CRD.

    validate_knative.py CRD.yaml [MANIFEST.yaml]     # the manifest from stdin without one

Prints one line per problem and exits 1 when there are any, 0 when the manifest is valid.

The CRD's schema is structural: Kubernetes drops (or, with strict field validation, refuses)
any field the schema does not list, but as JSON Schema it allows them. So every object
schema that lists properties and does not keep unknown fields
(x-kubernetes-preserve-unknown-fields) is closed here with additionalProperties: false, as
`kubectl apply --validate=strict` would treat the document.
"""
import sys

import jsonschema
import yaml


def closed(schema):
    """The schema with every object that lists its properties closed to others."""
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: closed(value) for key, value in schema.items()}
    if ("properties" in result and "additionalProperties" not in result
            and not result.get("x-kubernetes-preserve-unknown-fields")):
        result["additionalProperties"] = False
    return result


def main(arguments):
    if len(arguments) not in (1, 2):
        print("usage: validate_knative.py CRD.yaml [MANIFEST.yaml]", file=sys.stderr)
        return 2
    with open(arguments[0], encoding="utf-8") as file:
        crd = yaml.safe_load(file)
    if len(arguments) == 2:
        with open(arguments[1], encoding="utf-8") as file:
            manifest = yaml.safe_load(file)
    else:
        manifest = yaml.safe_load(sys.stdin)

    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    schema = closed(version["schema"]["openAPIV3Schema"])
    problems = []
    expected = {"apiVersion": crd["spec"]["group"] + "/v1", "kind": crd["spec"]["names"]["kind"]}
    for key, value in expected.items():
        if not isinstance(manifest, dict) or manifest.get(key) != value:
            problems.append(f"{key}: expected {value}")
    validator = jsonschema.Draft7Validator(schema)
    for error in sorted(validator.iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path))):
        path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
        problems.append(f"{path.lstrip('.') or '(document)'}: {error.message}")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
