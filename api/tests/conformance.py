"""Hold the HTTP API's answers to its OpenAPI schema (/api/schema/).

The views answer with the dicts chat.records and the selectors build; the schema says
what those answers are. `check` validates one answer against its operation's schema for
its status; the test suite runs every /api/ answer it gets through it (conftest.py), so a
field added, renamed or retyped on either side fails the tests that see it.
"""

import functools
import json
import re

from jsonschema import Draft202012Validator

SKIPPED = ("/api/schema/", "/api/docs/")


@functools.cache
def _schema() -> dict:
    from api.http import api

    # As served: JSON, whose keys are strings (the statuses are ints in the dict).
    return json.loads(json.dumps(api.get_openapi_schema()))


@functools.cache
def _operations() -> list[tuple[re.Pattern, dict]]:
    found = []
    for template, operations in _schema()["paths"].items():
        pattern = re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template))
        found.append((re.compile(f"^{pattern}$"), operations))
    return found


@functools.cache
def _validator(template_id: int, method: str, status: str) -> Draft202012Validator | None:
    operations = _operations()[template_id][1]
    answers = operations[method]["responses"]
    if not any("content" in answer for answer in answers.values()):
        return None  # its answers are not described (test_schema.py asks that they are)
    answer = answers.get(status)
    if answer is None:
        name = operations[method]["operationId"]
        raise AssertionError(f"{name} answered {status}, which its schema omits.")
    schema = answer.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return None
    return Draft202012Validator({**schema, "components": _schema()["components"]})


def _template_of(method: str, path: str) -> int | None:
    for template_id, (pattern, operations) in enumerate(_operations()):
        if pattern.match(path) and method in operations:
            return template_id
    return None


def check(method: str, path: str, status: int, body: bytes, content_type: str) -> None:
    """Raise AssertionError when an /api/ answer is not what the schema describes."""
    if not path.startswith("/api/") or path.startswith(SKIPPED):
        return
    method = method.lower()
    template_id = _template_of(method, path)
    if template_id is None or method == "head":
        return  # not an operation (a 404 or 405 from the URL resolver)
    validator = _validator(template_id, method, str(status))
    if validator is None:
        return
    if not content_type.startswith("application/json"):
        raise AssertionError(f"{method.upper()} {path} answered {content_type}, not JSON.")
    problems = sorted(validator.iter_errors(json.loads(body)), key=lambda e: list(e.path))
    if problems:
        where = "/".join(str(part) for part in problems[0].path)
        raise AssertionError(
            f"{method.upper()} {path} {status} is not as its schema says, at {where!r}: "
            f"{problems[0].message}"
        )
