"""Validates BatchImportFindings requests against Security Hub's API model.

Usage: validate_asff.py REQUESTS.json

REQUESTS.json holds a JSON list of request bodies as the SDK sent them
({"Findings": [...]}). Each is checked with botocore's ParamValidator against the
BatchImportFindings input shape (required members, types, minimum lengths), and then
against the constraints ParamValidator leaves out: enum values, maximum lengths and
string patterns, all read from the same model. Prints every problem and exits 1 if
there is any, 0 otherwise.
"""

import json
import re
import sys

import botocore.session
import botocore.validate


def model_errors(value, shape, path):
    """Enum, max-length and pattern violations, which ParamValidator does not check."""
    errors = []
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member_value in value.items():
            member = shape.members.get(name)
            if member is not None:
                errors += model_errors(member_value, member, f"{path}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        maximum = shape.metadata.get("max")
        if maximum is not None and len(value) > maximum:
            errors.append(f"{path}: {len(value)} items, more than {maximum}")
        for index, item in enumerate(value):
            errors += model_errors(item, shape.member, f"{path}[{index}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            errors += model_errors(key, shape.key, f"{path}<key {key}>")
            errors += model_errors(item, shape.value, f"{path}[{key}]")
    elif shape.type_name == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            errors.append(f"{path}: {value!r} is not one of {shape.enum}")
        maximum = shape.metadata.get("max")
        if maximum is not None and len(value) > maximum:
            errors.append(f"{path}: {len(value)} characters, more than {maximum}")
        pattern = shape.metadata.get("pattern")
        if pattern is not None and re.search(pattern, value) is None:
            errors.append(f"{path}: {value!r} does not match {pattern!r}")
    return errors


def main():
    with open(sys.argv[1], encoding="utf-8") as handle:
        requests = json.load(handle)
    model = botocore.session.get_session().get_service_model("securityhub")
    operation = model.operation_model("BatchImportFindings")
    validator = botocore.validate.ParamValidator()
    problems = []
    findings = 0
    for index, params in enumerate(requests):
        findings += len(params.get("Findings", []))
        report = validator.validate(params, operation.input_shape)
        if report.has_errors():
            problems.append(f"request {index}: {report.generate_report()}")
        problems += [
            f"request {index}: {error}"
            for error in model_errors(params, operation.input_shape, "BatchImportFindings")
        ]
    for problem in problems:
        print(problem)
    print(f"{len(requests)} requests, {findings} findings, {len(problems)} problems")
    return 1 if problems or findings == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
