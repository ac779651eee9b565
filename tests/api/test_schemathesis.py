"""The OpenAPI document, proven: schemathesis sends generated requests to every operation
and finds no server error and no response that breaks the document (status, content type,
body). A few examples per operation in `make test`; HYPOTHESIS_PROFILE=fuzz runs many."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from crm import create_app
from crm.access import Role
from crm.models import Organisation, Person
from tests.conftest import make_config

settings.register_profile(
    "api-quick",
    max_examples=3,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
settings.register_profile(
    "api-fuzz",
    max_examples=200,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
PROFILE = "api-fuzz" if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else "api-quick"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# The document is read from an application of its own (building it makes no query); each
# example is sent to the test's application, on the test database.
schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json", create_app(make_config("sqlite://"))
)
if PROFILE == "api-quick":
    # `make test`: the generated examples only; the coverage phase's hundreds of boundary
    # cases per operation run with HYPOTHESIS_PROFILE=fuzz (`make fuzz`).
    schema.config.phases.coverage.enabled = False


@pytest.fixture
def admin_headers(
    make_token: Callable[..., dict[str, str]],
    make_organisation: Callable[..., Organisation],
    make_person: Callable[..., Person],
) -> dict[str, str]:
    make_organisation()
    make_person()
    return make_token(Role.admin)


@schema.parametrize()
@settings(settings.get_profile(PROFILE))
def test_every_operation_answers_as_documented(
    case: Any, app: Flask, admin_headers: dict[str, str]
) -> None:
    case.call_and_validate(app=app, headers=dict(admin_headers), checks=CHECKS)
