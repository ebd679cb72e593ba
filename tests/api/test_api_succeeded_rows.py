"""A run's succeeded rows over ``GET /syncs/{id}/runs/{runId}/rows?status=succeeded``.

Runs are real: a DuckDB model of five people synced into a SQLite table, on each
catalog backend. The table may refuse a name with a CHECK constraint, to have rows
rejected and then, once the constraint is gone, retried with success.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import duckdb
from api_fixtures import Api

from syncline.catalog import SyncRecord
from syncline.engine.report import RunStatus
from syncline.settings import DEFAULT_SUCCEEDED_ROWS_PER_RUN, Settings
from syncline.worker.execute import execute_leased


def _sync(api: Api, *, refuse: str | None = None) -> SyncRecord:
    """A sync of people 1 to 5 into a SQLite table that rejects the name ``refuse``."""
    with duckdb.connect(str(api.home / "warehouse.duckdb")) as connection:
        connection.execute(
            "CREATE TABLE people AS SELECT i AS id, 'name ' || i AS name FROM range(1, 6) t(i)"
        )
    check = f" CHECK (name <> '{refuse}')" if refuse else ""
    with sqlite3.connect(api.home / "destination.db") as connection:
        connection.execute(f"CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT{check})")
    with api.catalog.session() as session:
        source = session.sources.create(
            name="people",
            slug="people-wh",
            type="duckdb",
            configuration={"path": str(api.home / "warehouse.duckdb")},
        )
        sink = session.destinations.create(
            name="people",
            slug="people-db",
            type="sqlite",
            configuration={"path": str(api.home / "destination.db")},
        )
        model = session.models.create(
            name="people",
            slug="people-model",
            source=source,
            query_type="raw_sql",
            primary_key="id",
            sql="SELECT id, name FROM people",
        )
        return session.syncs.create(
            slug="people",
            model=model,
            destination=sink,
            configuration={"mode": "upsert", "object": "people"},
        )


def _run(api: Api, sync: SyncRecord, keep: int = DEFAULT_SUCCEEDED_ROWS_PER_RUN) -> int:
    """Trigger, lease and execute a run that keeps ``keep`` succeeded rows; its id."""
    run_id = int(api.ok("POST", f"/syncs/{sync.id}/trigger")["id"])
    with api.catalog.session() as session:
        session.runs.start(run_id, "test-worker")
    settings = Settings(
        home=api.home / "worker", file_roots=(api.home,), succeeded_rows_per_run=keep
    )
    status = execute_leased(api.catalog, run_id, settings, alerts=False)
    assert status in (RunStatus.SUCCESS, RunStatus.WARNING)
    return run_id


def _rows(api: Api, sync: SyncRecord, run_id: int, **params: Any) -> Any:
    return api.ok("GET", f"/syncs/{sync.id}/runs/{run_id}/rows", params=params)


def _model(api: Api, statement: str) -> None:
    with duckdb.connect(str(api.home / "warehouse.duckdb")) as connection:
        connection.execute(statement)


def test_succeeded_rows_of_a_run_are_listed(any_api: Api) -> None:
    sync = _sync(any_api)
    run_id = _run(any_api, sync)

    body = _rows(any_api, sync, run_id, status="succeeded")

    assert sorted(row["primaryKey"] for row in body["data"]) == ["1", "2", "3", "4", "5"]
    assert {(row["operation"], row["status"], row["attempts"]) for row in body["data"]} == {
        ("added", "succeeded", 1)
    }
    assert all(row["reason"] is None and row["runId"] == run_id for row in body["data"])
    assert body["hasMore"] is False
    assert body["succeededRows"] == {
        "kept": 5,
        "total": 5,
        "limitPerRun": DEFAULT_SUCCEEDED_ROWS_PER_RUN,
        "truncated": False,
    }
    assert _rows(any_api, sync, run_id, status="failed")["data"] == []


def test_a_row_that_succeeds_after_rejections_shows_its_attempts(any_api: Api) -> None:
    sync = _sync(any_api, refuse="name 3")
    first = _run(any_api, sync)
    second = _run(any_api, sync)
    # The destination takes the name from now on: the third run's retry succeeds.
    with sqlite3.connect(any_api.home / "destination.db") as connection:
        connection.executescript(
            "ALTER TABLE people RENAME TO refusing;"
            "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT);"
            "INSERT INTO people SELECT * FROM refusing; DROP TABLE refusing;"
        )
    third = _run(any_api, sync)

    failed = _rows(any_api, sync, second, status="failed")["data"]
    assert [(row["primaryKey"], row["attempts"]) for row in failed] == [("3", 2)]
    assert len(_rows(any_api, sync, first, status="succeeded")["data"]) == 4
    assert _rows(any_api, sync, second, status="succeeded")["data"] == []
    retried = _rows(any_api, sync, third, status="succeeded")
    assert [(row["primaryKey"], row["attempts"]) for row in retried["data"]] == [("3", 3)]
    assert retried["succeededRows"]["kept"] == retried["succeededRows"]["total"] == 1


def test_succeeded_rows_filter_by_operation(any_api: Api) -> None:
    sync = _sync(any_api)
    first = _run(any_api, sync)
    _model(any_api, "UPDATE people SET name = 'renamed' WHERE id = 2")
    second = _run(any_api, sync)

    changed = _rows(any_api, sync, second, status="succeeded", op="changed")
    added = _rows(any_api, sync, second, status="succeeded", op="added")

    assert [(row["primaryKey"], row["operation"]) for row in changed["data"]] == [("2", "changed")]
    assert changed["succeededRows"] == {
        "kept": 1,
        "total": 1,
        "limitPerRun": DEFAULT_SUCCEEDED_ROWS_PER_RUN,
        "truncated": False,
    }
    assert added["data"] == []
    assert (added["succeededRows"]["kept"], added["succeededRows"]["total"]) == (0, 0)
    assert _rows(any_api, sync, first, status="succeeded", op="changed")["data"] == []


def test_a_run_keeps_succeeded_rows_up_to_its_limit_and_says_so(any_api: Api) -> None:
    sync = _sync(any_api)
    run_id = _run(any_api, sync, keep=2)

    body = _rows(any_api, sync, run_id, status="succeeded")
    added = _rows(any_api, sync, run_id, status="succeeded", op="added", limit=1)

    assert len(body["data"]) == 2
    assert body["succeededRows"] == {"kept": 2, "total": 5, "limitPerRun": 2, "truncated": True}
    assert len(added["data"]) == 1
    assert added["hasMore"] is True
    assert added["succeededRows"] == body["succeededRows"]
    run = any_api.ok("GET", f"/syncs/{sync.id}/runs", params={"runId": run_id})["data"][0]
    assert run["successfulRows"]["addedCount"] == 5


def test_a_limit_of_zero_keeps_no_succeeded_rows(any_api: Api) -> None:
    sync = _sync(any_api, refuse="name 4")
    run_id = _run(any_api, sync, keep=0)

    body = _rows(any_api, sync, run_id)

    assert [(row["primaryKey"], row["status"]) for row in body["data"]] == [("4", "failed")]
    assert body["succeededRows"] == {"kept": 0, "total": 4, "limitPerRun": 0, "truncated": True}
