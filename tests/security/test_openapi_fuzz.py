"""schemathesis against the OpenAPI document: no 500s, every response matches the schema."""

from __future__ import annotations

import io

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.images import photo

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 100


def test_every_operation_never_errors_and_matches_its_schema(make_app):
    # Schemathesis's pytest fixture loader does not run on pytest 9, so each operation's
    # strategy is driven by hypothesis here directly.
    app = make_app(rate_limit="100000 per minute", max_images_per_job=20)
    client = app.test_client()
    data = {"files": [(io.BytesIO(photo(i, size=(16, 16))), f"{i}.jpg") for i in range(3)]}
    job_id = client.post("/api/v1/jobs", data=data,
                         content_type="multipart/form-data").get_json()["id"]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case):
            if "job_id" in (case.path_parameters or {}):
                case.path_parameters["job_id"] = job_id  # a real job: reach past the 404
            case.call_and_validate(checks=CHECKS)

        fuzz()
