"""Connection tests, model previews and model columns through the API.

These are the operations the web UI and the command line offer on a stored source,
destination or model; the API runs the same code, inside the same file roots.
"""

from __future__ import annotations

import decimal
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import duckdb
import pytest
from api_fixtures import Api, Pipeline, make_pipeline, model_body, webhook

from syncline.api.connections import try_connection
from syncline.api.previews import json_safe
from syncline.errors import TerminalError
from syncline.security.files import FilePolicy

SECRET = "s3cret-password-value"


@pytest.fixture
def pipeline(api: Api, tmp_path: Path) -> Pipeline:
    """A DuckDB source, webhook destination, model and sync in the default workspace."""
    return make_pipeline(api, tmp_path)


def _closed_port() -> int:
    """A loopback port nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def receiver() -> Iterator[str]:
    """A webhook receiver on loopback that answers every POST with 200; its URL."""

    class Answer(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


# -- connection tests -----------------------------------------------------------------------


def test_a_source_that_connects_passes_its_test(api: Api, pipeline: Pipeline) -> None:
    assert api.ok("POST", f"/sources/{pipeline.source}/test") == {"success": True}


def test_a_webhook_that_answers_passes_and_one_that_does_not_fails(api: Api, receiver: str) -> None:
    answering = api.ok("POST", "/destinations", json=webhook("up", url=receiver))["id"]
    silent_url = f"http://127.0.0.1:{_closed_port()}/hook"
    silent = api.ok("POST", "/destinations", json=webhook("down", url=silent_url))["id"]

    assert api.ok("POST", f"/destinations/{answering}/test") == {"success": True}
    failed = api.ok("POST", f"/destinations/{silent}/test")
    assert failed["success"] is False
    assert "could not be reached" in failed["message"]
    assert "signing-secret" not in failed["message"]
    assert "downstream-token" not in failed["message"]


@pytest.mark.postgres
def test_a_postgres_source_in_its_own_database_passes_its_test(
    api: Api, make_postgres_database: Callable[[], str]
) -> None:
    database = make_postgres_database().rsplit("/", 1)[1]
    body = {"name": "PG", "slug": "pg", "type": "postgres",
            "configuration": {"host": "127.0.0.1", "port": 5432, "user": "postgres",
                              "database": database}}  # fmt: skip
    source = api.ok("POST", "/sources", json=body)["id"]

    assert api.ok("POST", f"/sources/{source}/test") == {"success": True}


@pytest.mark.postgres
def test_a_postgres_source_on_a_wrong_port_fails_naming_the_server_not_the_password(
    api: Api, make_postgres_database: Callable[[], str]
) -> None:
    database = make_postgres_database().rsplit("/", 1)[1]
    port = _closed_port()
    body = {"name": "PG", "slug": "pg", "type": "postgres",
            "configuration": {"host": "127.0.0.1", "port": port, "user": "postgres",
                              "database": database, "password": SECRET}}  # fmt: skip
    source = api.ok("POST", "/sources", json=body)["id"]

    answer = api.ok("POST", f"/sources/{source}/test")

    assert answer["success"] is False
    assert str(port) in answer["message"], answer["message"]
    assert "unreachable" in answer["message"]
    assert SECRET not in answer["message"]


def test_a_source_off_the_file_roots_fails_its_test_without_being_opened(
    api: Api, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Stored before the roots moved (or by the operator): the API still holds it to them.
    outside = tmp_path_factory.mktemp("outside") / "elsewhere.duckdb"
    with api.catalog.session() as session:
        made = session.sources.create(
            name="Elsewhere", slug="elsewhere", type="duckdb",
            configuration={"path": str(outside)},
        )  # fmt: skip
        session.flush()
        source = made.id

    answer = api.ok("POST", f"/sources/{source}/test")

    assert answer["success"] is False
    assert "outside the folders" in answer["message"]
    assert not outside.exists()


def test_a_connector_message_quoting_a_secret_is_masked(tmp_path: Path) -> None:
    class Config:
        @staticmethod
        def parse(raw: dict[str, Any]) -> dict[str, Any]:
            return raw

        @staticmethod
        def secret_fields() -> frozenset[str]:
            return frozenset({"credentials"})

    class Leaky:
        config_model = Config

        @classmethod
        def from_config(cls, raw: dict[str, Any]) -> Leaky:
            return cls()

        def test(self) -> None:
            raise TerminalError(f"login {SECRET} refused; api key sk-123456 too", connector="x")

        def close(self) -> None:
            pass

    configuration = {"credentials": {"password": SECRET}, "api_key": "sk-123456", "host": "h"}
    outcome = try_connection(
        lambda _name: Leaky, "source", "leaky", configuration, FilePolicy((tmp_path,))
    )

    assert outcome.success is False
    assert outcome.message == "login *** refused; api key *** too"


def test_an_invalid_stored_configuration_fails_its_test_naming_the_field(api: Api) -> None:
    with api.catalog.session() as session:
        made = session.destinations.create(
            name="Broken", slug="broken", type="webhook", configuration={"url": "not a url"}
        )
        session.flush()
        destination = made.id

    answer = api.ok("POST", f"/destinations/{destination}/test")

    assert answer["success"] is False
    assert answer["message"].startswith("configuration.url")


# -- previews and columns -------------------------------------------------------------------


def _duckdb_source(api: Api, path: Path, sql: str) -> int:
    database = path / "values.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute(sql)
    body = {"name": "Values", "slug": "values", "type": "duckdb",
            "configuration": {"path": str(database)}}  # fmt: skip
    source: int = api.ok("POST", "/sources", json=body)["id"]
    return source


def test_a_preview_shows_columns_with_types_and_at_most_100_rows(api: Api, tmp_path: Path) -> None:
    source = _duckdb_source(
        api, tmp_path, "CREATE TABLE numbers AS SELECT range AS id, 'n' || range AS label "
        "FROM range(150)",
    )  # fmt: skip
    body = model_body(source, raw={"sql": "select id, label from numbers order by id"})
    model = api.ok("POST", "/models", json=body)["id"]

    full = api.ok("GET", f"/models/{model}/preview")
    two = api.ok("GET", f"/models/{model}/preview", params={"limit": 2})

    assert full["columns"] == [{"name": "id", "type": "BIGINT"},
                               {"name": "label", "type": "VARCHAR"}]  # fmt: skip
    assert len(full["rows"]) == 100
    assert two["rows"] == [[0, "n0"], [1, "n1"]]


def test_preview_values_are_json_safe(api: Api, tmp_path: Path) -> None:
    source = _duckdb_source(
        api, tmp_path,
        "CREATE TABLE odd AS SELECT 1 AS id, 12345678901234567.89::DECIMAL(20,2) AS amount, "
        "DATE '2024-01-31' AS day, TIMESTAMP '2024-01-31 09:30:00' AS at, "
        "INTERVAL 90 MINUTE AS took, 'ab'::BLOB AS raw, 'nan'::DOUBLE AS nan, "
        "'infinity'::DOUBLE AS inf, NULL::VARCHAR AS nothing, {'a': 1} AS nested",
    )  # fmt: skip
    model = api.ok("POST", "/models", json=model_body(source, raw={"sql": "select * from odd"}))

    row = api.ok("GET", f"/models/{model['id']}/preview")["rows"][0]

    assert row[0] == 1
    assert row[1] == "12345678901234567.89"
    assert row[2] == "2024-01-31"
    assert row[3] == "2024-01-31T09:30:00"
    assert row[4] == "PT1H30M"
    assert row[5] == "YWI="
    assert row[6:8] == ["nan", "inf"]
    assert row[8] is None
    assert row[9] == {"a": 1}


def test_model_columns_are_listed_for_sql_and_table_models(api: Api, pipeline: Pipeline) -> None:
    table = model_body(pipeline.source, slug="by-table", queryType="table", raw=None,
                       table={"name": "users"})  # fmt: skip
    by_table = api.ok("POST", "/models", json=table)["id"]

    for model in (pipeline.model, by_table):
        listed = api.ok("GET", f"/models/{model}/columns")
        assert listed["hasMore"] is False
        assert [c["name"] for c in listed["data"]] == ["id", "email", "name"]
        assert listed["data"][0]["type"] == "INTEGER"


def test_a_query_the_source_refuses_is_a_422_with_the_source_s_message(
    api: Api, pipeline: Pipeline
) -> None:
    body = model_body(pipeline.source, slug="broken", raw={"sql": "select * from nowhere"})
    model = api.ok("POST", "/models", json=body, params={"skipColumnQuery": "true"})["id"]

    for path in (f"/models/{model}/preview", f"/models/{model}/columns"):
        answer = api.get(path)
        assert answer.status_code == 422, answer.text
        problem = answer.json()["details"]["path.modelId"]
        assert "the source refused the model's query" in problem["message"]
        assert "nowhere" in problem["message"]


def test_a_preview_keeps_model_sql_inside_the_file_roots(
    api: Api, pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside") / "private.csv"
    outside.write_text("secret\nkept out\n")
    sql = f"select * from read_csv('{outside}')"
    body = model_body(pipeline.source, slug="escape", primaryKey="secret", raw={"sql": sql})
    model = api.ok("POST", "/models", json=body, params={"skipColumnQuery": "true"})["id"]

    answer = api.get(f"/models/{model}/preview")

    assert answer.status_code == 422, answer.text
    assert "kept out" not in answer.text
    assert "Cannot access file" in answer.json()["details"]["path.modelId"]["message"]


def test_a_preview_limit_outside_1_to_100_is_a_422_naming_it(api: Api, pipeline: Pipeline) -> None:
    for limit in (0, 101):
        answer = api.get(f"/models/{pipeline.model}/preview", params={"limit": limit})
        assert answer.status_code == 422
        assert list(answer.json()["details"]) == ["query.limit"]


# -- keys and workspaces --------------------------------------------------------------------


def _inspections(made: Pipeline) -> list[tuple[str, str]]:
    return [
        ("POST", f"/sources/{made.source}/test"),
        ("POST", f"/destinations/{made.destination}/test"),
        ("GET", f"/models/{made.model}/preview"),
        ("GET", f"/models/{made.model}/columns"),
    ]


def test_inspections_need_a_key(api: Api, pipeline: Pipeline) -> None:
    for method, path in _inspections(pipeline):
        answer = api.client.request(method, "/api/v1" + path)
        assert answer.status_code == 401, (method, path)
        assert answer.json()["message"] == "Authentication error"


def test_another_workspace_s_resources_cannot_be_inspected(api: Api, tmp_path: Path) -> None:
    theirs = make_pipeline(api, tmp_path, key=api.other_key)

    for method, path in _inspections(theirs):
        answer = api.call(method, path)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["message"] == "Not found"
    assert api.ok("POST", f"/sources/{theirs.source}/test", key=api.other_key)["success"]


def test_an_id_that_is_no_id_is_a_422_naming_it(api: Api) -> None:
    for method, path, where in (
        ("POST", "/sources/0/test", "path.sourceId"),
        ("POST", "/destinations/x/test", "path.destinationId"),
        ("GET", "/models/-1/preview", "path.modelId"),
        ("GET", "/models/1.5/columns", "path.modelId"),
    ):
        answer = api.call(method, path)
        assert answer.status_code == 422, (path, answer.text)
        assert list(answer.json()["details"]) == [where]


def test_preview_decimals_are_positional_text_with_their_scale() -> None:
    assert json_safe(decimal.Decimal("0E-18")) == "0.000000000000000000"
    assert json_safe(decimal.Decimal("-1E-18")) == "-0.000000000000000001"
    assert json_safe([decimal.Decimal("1E+2")]) == ["100"]
