"""The served OpenAPI document describes exactly what the server does.

Schemathesis generates requests from the document (a bounded number per operation,
stateless) and checks every answer: no 5xx, a declared status, and a body that
matches the declared schema. The other tests read the document itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from api_fixtures import BASE, Api, make_api, make_pipeline
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from syncline.api.auth import RateLimiter
from syncline.catalog import Catalog

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture
def populated(sqlite_catalog: Catalog, tmp_path: Path) -> Iterator[Api]:
    """The API with a pipeline in place and no rate limit, so generated calls hit data."""
    with make_api(sqlite_catalog, tmp_path) as api:
        make_pipeline(api, tmp_path)
        api.client.app.state.rate_limiter = RateLimiter(limit=10**9)  # type: ignore[attr-defined]
        yield api


EXAMPLES = 8
"""Generated requests per operation and mode: enough to vary every field, under a minute."""


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_answer_matches_the_document(populated: Api, mode: GenerationMode) -> None:
    # Schemathesis's pytest loader for fixtures (schemathesis.pytest.from_fixture) fails
    # on pytest 9.2, so the operations are driven with its Python API and Hypothesis.
    schema = schemathesis.openapi.from_asgi(f"{BASE}/openapi.json", populated.client.app)
    headers = {"Authorization": f"Bearer {populated.key}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 16

    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not _takes_input(operation):
            continue  # nothing to break: no parameters and no body

        @given(case=operation.as_strategy(generation_mode=mode, headers=headers))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            case.call_and_validate(checks=CHECKS)

        check()


def _takes_input(operation: Any) -> bool:
    definition = operation.definition.raw
    return bool(definition.get("parameters") or definition.get("requestBody"))


def _document(api: Api) -> dict[str, Any]:
    document: dict[str, Any] = api.client.get(f"{BASE}/openapi.json").json()
    return document


def test_document_declares_the_error_responses(api: Api) -> None:
    paths = _document(api)["paths"]
    resources = ("/sources", "/destinations", "/models", "/syncs", "/metrics")

    for path, operations in paths.items():
        if not path.removeprefix(BASE).startswith(resources):
            continue
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "422", "429", "500"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            collection = path.rsplit("/", 1)[-1] in ("sources", "destinations", "models", "syncs")
            # Deleting a resource can conflict with its dependants; removing a setting of
            # one (such as its alert policy) cannot.
            resource = path.endswith("Id}")
            if (method == "delete" and resource) or (method == "post" and collection):
                assert "409" in codes, (method, path)
            assert "bearerAuth" in str(operation.get("security")) or path.endswith("/health"), (
                method,
                path,
            )


def test_resource_schemas_refuse_unknown_keys_and_type_ids_as_numbers(api: Api) -> None:
    schemas = _document(api)["components"]["schemas"]

    for name in ("Source", "Destination", "Model", "Sync", "ValidateErrorJSON",
                 "ConnectionCreate", "ModelCreate", "SyncCreate", "SyncUpdate"):  # fmt: skip
        assert schemas[name]["additionalProperties"] is False, name
    for name in ("Source", "Destination", "Model", "Sync"):
        assert schemas[name]["properties"]["id"]["type"] == "integer", name
        assert schemas[name]["properties"]["workspaceId"]["type"] == "integer", name
    assert schemas["InternalServerError"]["const"] == "Internal Server Error"


def test_error_bodies_are_declared_with_their_shapes(api: Api) -> None:
    operation = _document(api)["paths"][f"{BASE}/syncs/{{syncId}}"]["get"]

    def schema_of(code: str) -> str:
        return str(operation["responses"][code]["content"]["application/json"]["schema"])

    assert "ErrorMessage" in schema_of("401")
    assert "ErrorMessage" in schema_of("404")
    assert "ValidateErrorJSON" in schema_of("422")
    assert "TriggerErrorResponse" in schema_of("429")
    assert "InternalServerError" in schema_of("500")
