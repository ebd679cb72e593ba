"""Runs on a live ``syncline serve``: queueing, cancel, status, and Airflow's way of calling.

The worker pool of the served process executes every run; the tests only speak HTTP.
A run is held mid-delivery by locking its destination table from the test, so the
states in between (running, queued behind it, cancel requested) are reached for sure.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
import pytest
from sdk_harness import LiveServer, SdkClient

pytestmark = pytest.mark.postgres

TERMINAL = {"cancelled", "failed", "success", "warning", "interrupted"}
"""The statuses the Airflow provider stops polling at."""

ROWS = 120_000
"""Three PostgreSQL destination batches (50,000 rows each), so a cancel lands between two."""


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def _make_sync(api: httpx.Client, database_url: str, slug: str, query: str) -> dict[str, Any]:
    config = {"host": "127.0.0.1", "user": "postgres", "database": database_url.rsplit("/")[-1]}
    source = _ok(
        api.post(
            "/sources",
            json={"name": slug, "slug": f"{slug}-wh", "type": "postgres", "configuration": config},
        )
    )
    model = _ok(
        api.post(
            "/models",
            json={
                "name": slug,
                "slug": f"{slug}-model",
                "queryType": "raw_sql",
                "sourceId": source["id"],
                "isSchema": False,
                "primaryKey": "id",
                "raw": {"sql": query},
            },
        )
    )
    destination = _ok(
        api.post(
            "/destinations",
            json={
                "name": slug,
                "slug": f"{slug}-dest",
                "type": "postgres",
                "configuration": {**config, "schema": "synced"},
            },
        )
    )
    return _ok(api.post("/syncs", json={
        "slug": slug, "modelId": model["id"], "destinationId": destination["id"],
        "schedule": None, "disabled": False,
        "configuration": {"mode": "upsert", "object": f"synced.{slug}",
                          "mappings": [{"type": "standard", "from": "email", "to": "email"}]},
    }))  # fmt: skip


def _run(api: httpx.Client, sync_id: int, run_id: int | str) -> dict[str, Any]:
    """One run, read as the Airflow provider reads it: ``?runId=`` and ``data[0]``."""
    data = _ok(api.get(f"/syncs/{sync_id}/runs", params={"runId": run_id}))["data"]
    assert len(data) == 1, data
    run: dict[str, Any] = data[0]
    return run


def _wait(
    api: httpx.Client,
    sync_id: int,
    run_id: int | str,
    until: set[str],
    timeout: float = 60,
    planned: int | None = None,
) -> dict[str, Any]:
    """Poll a run until its status is in ``until`` (or, with ``planned``, its plan is made)."""
    deadline = time.monotonic() + timeout
    while True:
        run = _run(api, sync_id, run_id)
        if run["status"] in until or run["plannedRows"]["addedCount"] == planned:
            return run
        assert time.monotonic() < deadline, f"run {run_id} still {run['status']}"
        time.sleep(0.05)


@contextmanager
def _table_locked(database_url: str, table: str) -> Iterator[None]:
    """Hold an exclusive lock on ``table``: writes to it wait until the block ends."""
    with psycopg.connect(database_url) as connection:
        connection.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            connection.rollback()


@pytest.fixture
def database(make_postgres_database: Any) -> str:
    """A database with a ``synced`` schema for destination tables."""
    url: str = make_postgres_database()
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE SCHEMA synced")
    return url


@pytest.fixture
def api(server: LiveServer) -> Iterator[httpx.Client]:
    with server.http() as client:
        yield client


def test_queueing_and_cancel_while_a_run_is_held_mid_delivery(
    api: httpx.Client, database: str
) -> None:
    query = (
        f"SELECT g AS id, 'user' || g || '@example.com' AS email FROM generate_series(1, {ROWS}) g"
    )
    sync = _make_sync(api, database, "big", query)
    with psycopg.connect(database, autocommit=True) as connection:
        connection.execute("CREATE TABLE synced.big (id bigint PRIMARY KEY, email text)")
    assert _ok(api.get(f"/syncs/{sync['id']}"))["status"] == "pending"

    with _table_locked(database, "synced.big"):
        first = _ok(api.post(f"/syncs/{sync['id']}/trigger"))["id"]
        running = _wait(api, sync["id"], first, TERMINAL, planned=ROWS)
        assert running["status"] == "processing"
        assert running["plannedRows"]["addedCount"] == ROWS
        assert running["querySize"] == ROWS
        assert running["startedAt"] is not None
        assert running["finishedAt"] is None
        assert 0 <= running["completionRatio"] < 1
        during = _ok(api.get(f"/syncs/{sync['id']}"))
        assert during["status"] == "processing"
        assert during["lastRunAt"] is not None

        # A trigger during the run queues one run; more triggers return that same run.
        second = _ok(api.post(f"/syncs/{sync['id']}/trigger"))["id"]
        third = _ok(api.post("/syncs/trigger", data={"syncSlug": "big"}))["id"]
        assert second != first
        assert third == second
        assert _run(api, sync["id"], second)["status"] == "queued"

        cancelled = _ok(api.post(f"/syncs/{sync['id']}/runs/{second}/cancel"))
        assert cancelled["status"] == "cancelled"
        resumed = _ok(api.post(f"/syncs/{sync['id']}/trigger"))["id"]
        assert resumed not in (first, second)

        # The running run is only asked to stop; it does at its next batch boundary.
        asked = _ok(api.post(f"/syncs/{sync['id']}/runs/{first}/cancel"))
        assert asked["status"] == "processing"

    stopped = _wait(api, sync["id"], first, TERMINAL)
    assert stopped["status"] == "cancelled"
    sent = stopped["successfulRows"]["addedCount"]
    assert sent < ROWS
    assert stopped["finishedAt"] is not None

    # The queued run starts once the cancelled one ended and sends only the rest.
    last = _wait(api, sync["id"], resumed, TERMINAL)
    assert last["status"] == "success", last["error"]
    assert last["plannedRows"]["addedCount"] == ROWS - sent
    assert last["completionRatio"] == 1
    assert last["createdAt"] < last["startedAt"], "it waited behind the cancelled run"
    with psycopg.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM synced.big").fetchone() == (ROWS,)
    after = _ok(api.get(f"/syncs/{sync['id']}"))
    assert after["status"] == "success"
    assert after["lastRunAt"] >= last["startedAt"]


def test_the_airflow_provider_triggers_with_a_form_and_polls_run_id(
    api: httpx.Client, database: str
) -> None:
    sync = _make_sync(api, database, "small", "SELECT 1 AS id, 'a@example.com' AS email")

    for form in ({"syncId": str(sync["id"])}, {"syncSlug": "small"}):
        # Airflow's HttpHook sends a POST's dict form-urlencoded and a GET's as a query.
        response = api.post("/syncs/trigger", data=form)
        assert response.status_code == 200
        run_id = response.json()["id"]
        assert isinstance(run_id, str)

        run = _wait(api, sync["id"], run_id, TERMINAL)

        assert run["id"] == int(run_id)
        assert run["status"] == "success"
        assert float(run["completionRatio"] or 0) == 1.0
        for counts in ("plannedRows", "successfulRows", "failedRows"):
            assert set(run[counts]) == {"addedCount", "changedCount", "removedCount"}
    planned = [
        r["plannedRows"]["addedCount"] for r in _ok(api.get(f"/syncs/{sync['id']}/runs"))["data"]
    ]
    assert planned == [1, 0], "the second run found nothing new to send"


def test_the_sdk_sees_404_and_422_with_bodies_it_can_parse(
    sdk: SdkClient, api: httpx.Client, database: str
) -> None:
    sync = _make_sync(api, database, "off", "SELECT 1 AS id, 'a@example.com' AS email")
    _ok(api.patch(f"/syncs/{sync['id']}", json={"disabled": True}))

    unknown, disabled, by_slug = sdk.calls([
        {"op": "trigger_run", "syncId": "999999"},
        {"op": "trigger_run", "syncId": str(sync["id"]), "body": {"full_resync": True}},
        {"op": "trigger_run_custom", "body": {"sync_slug": "off"}},
    ])  # fmt: skip

    assert unknown["status"] == 404
    assert disabled["status"] == 422
    assert disabled["parsed"]["message"] == {"enum": "ValidateErrorJSONMessage",
                                             "value": "Validation failed"}  # fmt: skip
    message = disabled["parsed"]["details"]["path.syncId"]["message"]
    assert f"sync {sync['id']} is disabled" in message
    assert by_slug["status"] == 422
    assert "body.syncSlug" in by_slug["parsed"]["details"]
