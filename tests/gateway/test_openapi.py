"""The OpenAPI 3.1 contract: valid, every route in it exists, and the live app keeps it (schemathesis)."""

from __future__ import annotations

import json
import re
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.openapi import DOCUMENT, document

KEY = "test-key-1"
SCHEMA = schemathesis.openapi.from_path(str(DOCUMENT))
PREFIXES = ("/api/v1/", "/open311/v2/")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


def _shape(path: str) -> str:
    """A path with every parameter written the same way: /a/{x}.{y} and /a/<x>.<y> → /a/{}.{}."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


def test_the_document_is_valid_openapi_31_and_served(client: Any) -> None:
    validate(document())  # openapi-spec-validator
    assert document()["openapi"] == "3.1.0"
    served = client.get("/api/openapi.json")
    assert served.status_code == 200 and served.json == json.loads(DOCUMENT.read_text(encoding="utf-8"))


def test_every_route_in_the_document_exists_and_every_route_is_documented(app: Any) -> None:
    documented = {(_shape(path), method.upper()) for path, item in document()["paths"].items() for method in item}
    served = {(_shape(rule.rule), method) for rule in app.url_map.iter_rules() if rule.rule.startswith(PREFIXES)
              for method in (rule.methods or ()) - {"HEAD", "OPTIONS"}}
    assert documented == served


@SCHEMA.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_the_live_app_keeps_the_contract(case: Any, live_url: str) -> None:
    """No 500, every status documented, every body matching its schema (bounded examples).

    Not checked: that every schema-valid body is accepted — a phone number of the right
    length may still not be a Vietnamese number (400, documented).
    """
    case.call_and_validate(base_url=live_url, headers={"X-Api-Key": KEY}, checks=CHECKS)
