"""The proof: Hightouch's official Python SDK drives a live Syncline over real HTTP.

Everything a user of the SDK does happens here through the SDK alone: create a
PostgreSQL source, a raw SQL model, a PostgreSQL destination and a mirror sync,
trigger it, poll its run to the end, change the source's rows and trigger again.
The test then reads the destination table itself, on the real PostgreSQL server.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from sdk_harness import LiveServer, SdkClient

pytestmark = pytest.mark.postgres

FINISHED = {"success", "warning", "failed", "cancelled", "interrupted"}


def _connection_config(url: str) -> dict[str, Any]:
    database = url.rsplit("/", 1)[1]
    return {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": database}


def _created(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["status"] == 200, answer
    created: dict[str, Any] = answer["parsed"]
    return created


def _build_sync(sdk: SdkClient, database_url: str) -> dict[str, Any]:
    """Source, model, destination and a mirror sync, each made through the SDK."""
    config = _connection_config(database_url)
    source = _created(sdk.call("create", kind="source", body={
        "name": "Warehouse", "slug": "warehouse", "type": "postgres", "configuration": config,
    }))  # fmt: skip
    model = _created(sdk.call("create", kind="model", body={
        "name": "People", "slug": "people", "queryType": "raw_sql", "sourceId": source["id"],
        "isSchema": False, "primaryKey": "id",
        "raw": {"sql": "SELECT id, email, plan FROM people"},
    }))  # fmt: skip
    destination = _created(sdk.call("create", kind="destination", body={
        "name": "Reporting", "slug": "reporting", "type": "postgres",
        "configuration": {**config, "schema": "synced"},
    }))  # fmt: skip
    return _created(sdk.call("create", kind="sync", body={
        "slug": "people-to-reporting", "modelId": str(model["id"]),
        "destinationId": str(destination["id"]), "schedule": None, "disabled": False,
        "configuration": {
            "mode": "mirror", "object": "synced.people",
            "mappings": [{"type": "standard", "from": "email", "to": "email"},
                         {"type": "standard", "from": "plan", "to": "plan"}],
        },
    }))  # fmt: skip


def _trigger_and_wait(sdk: SdkClient, sync_id: int) -> dict[str, Any]:
    """Trigger with no flags (the SDK sends JSON null) and poll the run as the SDK does."""
    triggered, finished = sdk.calls([
        {"op": "trigger_run", "syncId": str(sync_id)},
        {"op": "wait_for_run", "syncId": sync_id, "runId": "$last", "timeout": 60},
    ])  # fmt: skip
    return {"trigger": triggered, "run": finished}


def _rows(database_url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as connection:
        return connection.execute(
            "SELECT id, email, plan FROM synced.people ORDER BY id"
        ).fetchall()


def test_the_official_sdk_syncs_rows_and_their_changes(
    sdk: SdkClient, server: LiveServer, make_postgres_database: Any
) -> None:
    database_url = make_postgres_database()
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("CREATE SCHEMA synced")
        connection.execute("CREATE TABLE people (id int PRIMARY KEY, email text, plan text)")
        connection.execute(
            "INSERT INTO people VALUES (1, 'ada@example.com', 'pro'), "
            "(2, 'bob@example.com', 'free'), (3, 'cy@example.com', 'free')"
        )
    sync = _build_sync(sdk, database_url)
    assert sync["status"] == "pending"
    assert sync["lastRunAt"] is None

    first = _trigger_and_wait(sdk, sync["id"])

    assert first["trigger"]["status"] == 200
    assert first["trigger"]["parsed"]["id"].isdigit(), "TriggerRunOutput.id is a string"
    run = first["run"]
    assert run["status"] == 200
    assert run["warnings"] == [], "a finished run has every field the SDK requires"
    parsed = run["parsed"]
    assert parsed["id"] == int(first["trigger"]["parsed"]["id"])
    assert parsed["status"] == {"enum": "SyncRunStatus", "value": "success"}
    assert parsed["querySize"] == 3
    assert parsed["completionRatio"] == 1
    assert parsed["plannedRows"] == {"addedCount": 3, "changedCount": 0, "removedCount": 0}
    assert parsed["successfulRows"] == {"addedCount": 3, "changedCount": 0, "removedCount": 0}
    assert parsed["failedRows"] == {"addedCount": 0, "changedCount": 0, "removedCount": 0}
    assert "datetime" in parsed["startedAt"]
    assert "datetime" in parsed["finishedAt"]
    assert _rows(database_url) == [
        (1, "ada@example.com", "pro"),
        (2, "bob@example.com", "free"),
        (3, "cy@example.com", "free"),
    ]

    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("UPDATE people SET plan = 'pro' WHERE id = 2")
        connection.execute("INSERT INTO people VALUES (4, 'dee@example.com', 'team')")
        connection.execute("DELETE FROM people WHERE id = 3")

    second = _trigger_and_wait(sdk, sync["id"])["run"]["parsed"]

    assert second["status"]["value"] == "success"
    assert second["plannedRows"] == {"addedCount": 1, "changedCount": 1, "removedCount": 1}
    assert second["successfulRows"] == {"addedCount": 1, "changedCount": 1, "removedCount": 1}
    assert _rows(database_url) == [
        (1, "ada@example.com", "pro"),
        (2, "bob@example.com", "pro"),
        (4, "dee@example.com", "team"),
    ]

    (after,) = sdk.calls([{"op": "get_sync", "syncId": sync["id"]}])
    assert after["status"] == 200
    # A manual sync's schedule is null (API.md 4.1), which this SDK types as required:
    # its decoder warns and keeps None. Nothing else may be missing.
    assert [w for w in after["warnings"] if "type schedule" not in w] == []
    assert after["parsed"]["status"] == {"enum": "SyncStatus", "value": "success"}
    assert "datetime" in after["parsed"]["lastRunAt"]

    listed = sdk.call("list_sync_runs", syncId=sync["id"], query={"order_by": "startedAt"})
    statuses = [r["status"]["value"] for r in listed["parsed"]["data"]]
    assert statuses == ["success", "success"]
    assert all(r["status"]["value"] in FINISHED for r in listed["parsed"]["data"])
