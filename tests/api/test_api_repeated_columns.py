"""A model whose query returns a column name twice is refused before any sync runs it."""

from __future__ import annotations

from pathlib import Path

import duckdb
from api_fixtures import Api, model_body, warehouse

from syncline.engine.report import RunStatus
from syncline.settings import Settings
from syncline.worker.execute import execute_leased

REPEATING = "select id, email, email from users"


def test_a_new_model_repeating_a_column_is_a_422_naming_it(api: Api, tmp_path: Path) -> None:
    source = api.ok("POST", "/sources", json=warehouse(tmp_path))["id"]

    answer = api.post("/models", json=model_body(source, raw={"sql": REPEATING}))

    assert answer.status_code == 422
    detail = answer.json()["details"]["body.raw.sql"]
    assert "returns column 'email' more than once" in detail["message"]
    assert "AS email_2" in detail["message"]
    assert detail["value"] == REPEATING


def test_the_fix_for_a_repeated_column_names_that_column(api: Api, tmp_path: Path) -> None:
    source = api.ok("POST", "/sources", json=warehouse(tmp_path))["id"]
    sql = "select 1 as id, 2 as x, 3 as x"

    answer = api.post("/models", json=model_body(source, raw={"sql": sql}))

    message = answer.json()["details"]["body.raw.sql"]["message"]
    assert "returns column 'x' more than once" in message
    assert "SELECT x AS x_2" in message
    assert "email" not in message


def test_a_change_to_a_query_repeating_a_column_is_a_422(api: Api, tmp_path: Path) -> None:
    source = api.ok("POST", "/sources", json=warehouse(tmp_path))["id"]
    model = api.ok("POST", "/models", json=model_body(source))["id"]

    answer = api.patch(f"/models/{model}", json={"raw": {"sql": REPEATING}})

    assert answer.status_code == 422
    assert "'email' more than once" in answer.json()["details"]["body.raw.sql"]["message"]
    assert api.ok("GET", f"/models/{model}")["raw"]["sql"] == model_body(source)["raw"]["sql"]


def test_a_run_of_a_model_repeating_a_column_fails_naming_it(api: Api) -> None:
    with duckdb.connect(str(api.home / "warehouse.duckdb")) as connection:
        connection.execute("CREATE TABLE people AS SELECT 1 AS id, 'a@b.c' AS mail")
    with api.catalog.session() as session:
        source = session.sources.create(
            name="wh", slug="wh", type="duckdb",
            configuration={"path": str(api.home / "warehouse.duckdb")},
        )  # fmt: skip
        sink = session.destinations.create(
            name="db", slug="db", type="sqlite",
            configuration={"path": str(api.home / "destination.db")},
        )  # fmt: skip
        model = session.models.create(
            name="people", slug="people", source=source, query_type="raw_sql",
            primary_key="id", sql="SELECT id, mail, mail FROM people",
        )  # fmt: skip
        sync = session.syncs.create(
            slug="people", model=model, destination=sink,
            configuration={"mode": "upsert", "object": "people"},
        )  # fmt: skip
    run_id = int(api.ok("POST", f"/syncs/{sync.id}/trigger")["id"])
    with api.catalog.session() as session:
        session.runs.start(run_id, "test-worker")
    settings = Settings(home=api.home / "worker", file_roots=(api.home,))

    assert execute_leased(api.catalog, run_id, settings, alerts=False) is RunStatus.FAILED

    (run,) = api.ok("GET", f"/syncs/{sync.id}/runs")["data"]
    assert "returns column 'mail' more than once" in run["error"]
    assert "SELECT mail AS mail_2" in run["error"]
    assert "internal error" not in run["error"]
