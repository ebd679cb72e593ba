"""The run endpoints in process: trigger, queueing, lists, cancel and row results.

A worker is played by the test through the run queue (lease, finish), so every state
a run can be in is reached exactly; tests/api_sdk runs the same endpoints against a
live server with real workers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from api_fixtures import Api

from syncline.catalog import Catalog, RunRecord, SyncRecord
from syncline.catalog.rows import RowOutcome
from syncline.engine.report import Operation, RunProgress, RunStatus
from syncline.settings import Settings
from syncline.worker.execute import execute_leased


def _sync(
    api: Api, slug: str = "people", *, destination: str = "sqlite", disabled: bool = False
) -> SyncRecord:
    """A sync of a DuckDB model of three people into a SQLite table or a webhook."""
    folder = api.home / slug
    folder.mkdir(parents=True, exist_ok=True)
    warehouse = folder / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(
            "CREATE TABLE people AS SELECT * FROM (VALUES (1, 'ada'), (2, 'bob'), (3, 'cy')) "
            "AS t(id, name)"
        )
    if destination == "sqlite":
        target: dict[str, Any] = {"path": str(folder / "destination.db")}
    else:
        target = {"url": "http://127.0.0.1:9/hook"}
    with api.catalog.session() as session:
        source = session.sources.create(
            name=slug, slug=f"{slug}-wh", type="duckdb", configuration={"path": str(warehouse)}
        )
        sink = session.destinations.create(
            name=slug, slug=f"{slug}-dest", type=destination, configuration=target
        )
        model = session.models.create(
            name=slug,
            slug=f"{slug}-model",
            source=source,
            query_type="raw_sql",
            primary_key="id",
            sql="SELECT id, name FROM people",
        )
        return session.syncs.create(
            slug=slug,
            model=model,
            destination=sink,
            configuration={"mode": "upsert", "object": "people"},
            disabled=disabled,
        )


def _run(catalog: Catalog, run_id: int | str) -> RunRecord:
    with catalog.session(read_only=True) as session:
        return session.runs.get(int(run_id))


def _lease(catalog: Catalog, run_id: int | str) -> None:
    with catalog.session() as session:
        session.runs.start(int(run_id), "test-worker")


def _finish(catalog: Catalog, run_id: int | str, status: RunStatus = RunStatus.SUCCESS) -> None:
    with catalog.session() as session:
        session.runs.finish(int(run_id), status, RunProgress())


def _trigger(api: Api, sync: SyncRecord, **kwargs: Any) -> str:
    run_id: str = api.ok("POST", f"/syncs/{sync.id}/trigger", **kwargs)["id"]
    return run_id


# -- triggers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_body",
    [
        pytest.param({}, id="no body"),
        pytest.param(
            {"content": b"null", "headers": {"content-type": "application/json"}},
            id="JSON null, as the SDK sends without flags",
        ),  # fmt: skip
        pytest.param({"json": {}}, id="empty JSON object"),
        pytest.param({"json": {"unknownKey": 1}}, id="unknown keys tolerated"),
    ],
)
def test_a_trigger_queues_a_run_and_returns_its_id_as_a_string(
    api: Api, request_body: dict[str, Any]
) -> None:
    sync = _sync(api)

    response = api.post(f"/syncs/{sync.id}/trigger", **request_body)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {"id": body["id"]}
    assert isinstance(body["id"], str)
    run = _run(api.catalog, body["id"])
    assert (run.sync_id, run.status, run.triggered_by) == (sync.id, "queued", "api")
    flags = (run.full_resync, run.reset_cdc, run.clear_and_fill, run.dry_run)
    assert flags == (False, False, False, False)


@pytest.mark.parametrize(
    ("request_body", "flag"),
    [
        ({"json": {"fullResync": True}}, "full_resync"),
        ({"json": {"resetCDC": True}}, "reset_cdc"),
        ({"data": {"fullResync": "true"}}, "full_resync"),
        ({"data": {"resetCDC": "1"}}, "reset_cdc"),
        ({"json": {"clearAndFill": True}}, "clear_and_fill"),
        ({"json": {"dryRun": True}}, "dry_run"),
    ],
)
def test_trigger_flags_arrive_from_json_and_form_bodies(
    api: Api, request_body: dict[str, Any], flag: str
) -> None:
    sync = _sync(api)

    run = _run(api.catalog, _trigger(api, sync, **request_body))

    flags = {name: getattr(run, name) for name in
             ("full_resync", "reset_cdc", "clear_and_fill", "dry_run")}  # fmt: skip
    assert flags == {name: name == flag for name in flags}


def test_false_flags_in_a_form_are_false(api: Api) -> None:
    sync = _sync(api)

    run = _run(api.catalog, _trigger(api, sync, data={"fullResync": "false", "resetCDC": ""}))

    assert not run.full_resync
    assert not run.reset_cdc


def test_trigger_by_id_or_slug_in_the_body_json_or_form(api: Api) -> None:
    sync = _sync(api)
    bodies: list[dict[str, Any]] = [
        {"json": {"syncId": str(sync.id)}},
        {"json": {"syncId": sync.id}},
        {"json": {"syncSlug": "people"}},
        {"data": {"syncId": str(sync.id)}},
        {"data": {"syncSlug": "people", "fullResync": "true"}},
        {"json": {"syncId": str(sync.id), "syncSlug": "people"}},
    ]

    ids = {api.ok("POST", "/syncs/trigger", **body)["id"] for body in bodies}

    # No run started in between, so every trigger found the same queued run.
    assert len(ids) == 1
    run = _run(api.catalog, ids.pop())
    assert run.sync_id == sync.id
    assert run.full_resync


def test_a_trigger_during_a_run_queues_exactly_one_more(any_api: Api) -> None:
    api = any_api
    sync = _sync(api)
    running = _trigger(api, sync)
    _lease(api.catalog, running)

    queued = _trigger(api, sync)
    again = api.ok("POST", "/syncs/trigger", json={"syncSlug": "people", "fullResync": True})

    assert queued != running
    assert again["id"] == queued
    assert _run(api.catalog, queued).full_resync, "the later trigger's flag joins the queued run"
    runs = api.ok("GET", f"/syncs/{sync.id}/runs")["data"]
    assert [(r["id"], r["status"]) for r in runs] == [
        (int(running), "querying"),
        (int(queued), "queued"),
    ]

    _finish(api.catalog, running)
    _lease(api.catalog, queued)
    assert _trigger(api, sync) not in (running, queued)


def test_unknown_syncs_are_404(api: Api) -> None:
    _sync(api)

    for method, path, kwargs in [
        ("POST", "/syncs/999/trigger", {}),
        ("POST", "/syncs/nope/trigger", {}),
        ("POST", "/syncs/trigger", {"json": {"syncId": "999"}}),
        ("POST", "/syncs/trigger", {"data": {"syncSlug": "nope"}}),
        ("GET", "/syncs/999/runs", {}),
        ("POST", "/syncs/999/runs/1/cancel", {}),
        ("GET", "/syncs/999/runs/1/rows", {}),
    ]:
        response = api.call(method, path, **kwargs)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["message"] == "Not found"


def test_another_workspaces_sync_is_not_found(api: Api) -> None:
    sync = _sync(api)

    response = api.post(f"/syncs/{sync.id}/trigger", key=api.other_key)
    listed = api.get(f"/syncs/{sync.id}/runs", key=api.other_key)

    assert response.status_code == 404
    assert listed.status_code == 404


def test_a_disabled_sync_is_not_triggered(api: Api) -> None:
    sync = _sync(api, disabled=True)

    by_path = api.post(f"/syncs/{sync.id}/trigger")
    by_slug = api.post("/syncs/trigger", json={"syncSlug": "people"})

    assert by_path.status_code == 422
    assert f"sync {sync.id} is disabled" in by_path.json()["details"]["path.syncId"]["message"]
    assert by_slug.status_code == 422
    assert f"sync {sync.id} is disabled" in by_slug.json()["details"]["body.syncSlug"]["message"]
    assert api.ok("GET", f"/syncs/{sync.id}/runs")["data"] == []


def test_a_disabled_sync_refusal_repeats_what_the_request_sent(api: Api) -> None:
    sync = _sync(api, disabled=True)

    by_path = api.post(f"/syncs/{sync.id}/trigger")
    by_slug = api.post("/syncs/trigger", json={"syncSlug": "people"})
    by_id = api.post("/syncs/trigger", data={"syncId": str(sync.id)})

    assert by_path.json()["details"]["path.syncId"]["value"] == sync.id
    assert by_slug.json()["details"]["body.syncSlug"]["value"] == "people"
    assert by_id.json()["details"]["body.syncId"]["value"] == str(sync.id)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"fullResync": True, "resetCDC": True}, "body.resetCDC"),
        ({"clearAndFill": True, "resetCDC": "true"}, "body.resetCDC"),
        ({"fullResync": "maybe"}, "body.fullResync"),
        ({"resetCDC": 3}, "body.resetCDC"),
    ],
)
def test_conflicting_or_unreadable_flags_are_422(
    api: Api, body: dict[str, Any], where: str
) -> None:
    sync = _sync(api)

    response = api.post(f"/syncs/{sync.id}/trigger", json=body)

    assert response.status_code == 422
    assert response.json()["message"] == "Validation failed"
    assert where in response.json()["details"]
    assert api.ok("GET", f"/syncs/{sync.id}/runs")["data"] == []


@pytest.mark.parametrize(
    ("request_body", "where"),
    [
        ({"json": {}}, "body"),
        ({}, "body"),
        ({"json": {"syncId": "12a"}}, "body.syncId"),
        ({"json": {"syncId": True}}, "body.syncId"),
        ({"json": {"syncSlug": 5}}, "body.syncSlug"),
        ({"json": [1]}, "body"),
        ({"content": b"{", "headers": {"content-type": "application/json"}}, "body"),
        ({"content": b"x", "headers": {"content-type": "text/plain"}}, "body"),
    ],
)
def test_a_custom_trigger_must_name_one_sync_readably(
    api: Api, request_body: dict[str, Any], where: str
) -> None:
    _sync(api)

    response = api.post("/syncs/trigger", **request_body)

    assert response.status_code == 422, response.text
    assert list(response.json()["details"]) == [where]


def test_sync_id_and_slug_naming_different_syncs_is_422(api: Api) -> None:
    first = _sync(api, "first")
    _sync(api, "second")

    response = api.post("/syncs/trigger", json={"syncId": str(first.id), "syncSlug": "second"})

    assert response.status_code == 422
    message = response.json()["details"]["body.syncSlug"]["message"]
    assert f"syncId names sync {first.id}" in message


def test_clear_and_fill_is_refused_for_a_destination_that_cannot_empty_its_object(
    api: Api,
) -> None:
    sync = _sync(api, destination="webhook")

    response = api.post(f"/syncs/{sync.id}/trigger", json={"clearAndFill": True})

    assert response.status_code == 422
    problem = response.json()["details"]["body.clearAndFill"]
    assert "cannot clear and fill" in problem["message"]
    assert "fullResync" in problem["message"]


def test_a_clear_and_fill_run_empties_the_table_then_loads_the_model(
    api: Api, tmp_path: Path
) -> None:
    import sqlite3

    sync = _sync(api)
    settings = Settings(home=tmp_path / "worker", file_roots=(tmp_path,))
    first = _trigger(api, sync)
    _lease(api.catalog, first)
    assert execute_leased(api.catalog, int(first), settings, alerts=False) is RunStatus.SUCCESS
    database = api.home / "people" / "destination.db"
    with sqlite3.connect(database) as connection:
        connection.execute("INSERT INTO people (id, name) VALUES (99, 'stray')")

    second = _trigger(api, sync, json={"clearAndFill": True})
    _lease(api.catalog, second)
    status = execute_leased(api.catalog, int(second), settings, alerts=False)

    assert status is RunStatus.SUCCESS
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT id FROM people ORDER BY id").fetchall() == [
            (1,),
            (2,),
            (3,),
        ]
    run = api.ok("GET", f"/syncs/{sync.id}/runs", params={"runId": second})["data"][0]
    assert run["plannedRows"] == {"addedCount": 3, "changedCount": 0, "removedCount": 0}


# -- listing runs -----------------------------------------------------------------------------


def _finished_runs(api: Api, sync: SyncRecord, count: int) -> list[int]:
    ids = []
    for _ in range(count):
        run_id = _trigger(api, sync)
        _lease(api.catalog, run_id)
        _finish(api.catalog, run_id)
        ids.append(int(run_id))
    return ids


def test_runs_page_with_offset_limit_and_has_more(api: Api) -> None:
    sync = _sync(api)
    ids = _finished_runs(api, sync, 5)

    first = api.ok("GET", f"/syncs/{sync.id}/runs", params={"limit": 2})
    last = api.ok("GET", f"/syncs/{sync.id}/runs", params={"offset": 4, "limit": 2})

    assert [r["id"] for r in first["data"]] == ids[:2]
    assert first["hasMore"] is True
    assert [r["id"] for r in last["data"]] == ids[4:]
    assert last["hasMore"] is False


def test_run_id_finds_one_run_also_written_as_a_float(api: Api) -> None:
    sync = _sync(api)
    ids = _finished_runs(api, sync, 3)

    found = api.ok("GET", f"/syncs/{sync.id}.0/runs", params={"runId": f"{ids[1]}.0"})

    assert [r["id"] for r in found["data"]] == [ids[1]]
    assert found["hasMore"] is False
    assert api.get(f"/syncs/{sync.id}/runs", params={"runId": "1.5"}).status_code == 422
    assert api.get(f"/syncs/{sync.id}.5/runs").status_code == 422


def test_runs_order_by_finish_time_puts_unfinished_runs_last(any_api: Api) -> None:
    api = any_api
    sync = _sync(api)
    older, newer = _finished_runs(api, sync, 2)
    with api.catalog.session() as session:
        # The older run finished last.
        session.runs.get(older).finished_at = datetime.now(UTC) + timedelta(minutes=1)
    queued = int(_trigger(api, sync))

    by_finish = api.ok("GET", f"/syncs/{sync.id}/runs", params={"orderBy": "finishedAt"})
    by_id = api.ok("GET", f"/syncs/{sync.id}/runs", params={"orderBy": "id"})

    assert [r["id"] for r in by_finish["data"]] == [newer, older, queued]
    assert [r["id"] for r in by_id["data"]] == [older, newer, queued]
    assert api.get(f"/syncs/{sync.id}/runs", params={"orderBy": "status"}).status_code == 422


def test_after_before_and_within_select_runs_by_start_time(any_api: Api) -> None:
    api = any_api
    sync = _sync(api)
    old, recent = _finished_runs(api, sync, 2)
    long_ago = datetime(2020, 1, 1, 12, tzinfo=UTC)
    with api.catalog.session() as session:
        run = session.runs.get(old)
        run.created_at = run.started_at = long_ago

    def ids(**params: Any) -> list[int]:
        body = api.ok("GET", f"/syncs/{sync.id}/runs", params=params)
        return [r["id"] for r in body["data"]]

    assert ids(within=60) == [recent]
    assert ids(after="2020-01-01T12:00:01Z") == [recent]
    assert ids(after="2020-01-01T11:00:00") == [old, recent], "a time without zone is UTC"
    assert ids(before="2021-01-01T00:00:00.000Z") == [old]
    assert ids(after="2019-12-31T00:00:00Z", before="2020-06-01T00:00:00Z") == [old]
    for bad in ("-31323", "1700000000", "yesterday"):
        response = api.get(f"/syncs/{sync.id}/runs", params={"after": bad})
        assert response.status_code == 422, bad
        assert "ISO 8601" in response.json()["details"]["query.after"]["message"]


def test_a_run_reads_as_the_sync_run_shape(api: Api) -> None:
    sync = _sync(api)
    run_id = _trigger(api, sync)

    queued = api.ok("GET", f"/syncs/{sync.id}/runs")["data"][0]

    assert queued == {
        "id": int(run_id),
        "createdAt": queued["createdAt"],
        "startedAt": None,
        "finishedAt": None,
        "querySize": 0,
        "status": "queued",
        "completionRatio": 0.0,
        "plannedRows": {"addedCount": 0, "changedCount": 0, "removedCount": 0},
        "successfulRows": {"addedCount": 0, "changedCount": 0, "removedCount": 0},
        "failedRows": {"addedCount": 0, "changedCount": 0, "removedCount": 0},
        "error": None,
    }
    assert queued["createdAt"].endswith("Z")


def test_query_size_is_a_number_before_the_query_has_returned(api: Api) -> None:
    # API.md 4.4 makes querySize a required number: 0 until the query has returned.
    sync = _sync(api)
    cancelled = _trigger(api, sync)
    api.ok("POST", f"/syncs/{sync.id}/runs/{cancelled}/cancel")
    failed = _trigger(api, sync)
    _lease(api.catalog, failed)
    _finish(api.catalog, failed, RunStatus.FAILED)

    runs = api.ok("GET", f"/syncs/{sync.id}/runs")["data"]

    assert [(run["status"], run["querySize"]) for run in runs] == [
        ("cancelled", 0),
        ("failed", 0),
    ]
    document = api.client.get("/api/v1/openapi.json").json()
    shape = document["components"]["schemas"]["SyncRun"]
    assert shape["properties"]["querySize"] == {"type": "integer", "title": "Querysize"}
    assert "querySize" in shape["required"]


# -- cancel -----------------------------------------------------------------------------------


def test_cancelling_a_queued_run_cancels_it_at_once(api: Api) -> None:
    sync = _sync(api)
    run_id = _trigger(api, sync)

    cancelled = api.ok("POST", f"/syncs/{sync.id}/runs/{run_id}/cancel")
    again = api.ok("POST", f"/syncs/{sync.id}/runs/{run_id}/cancel")

    assert cancelled["status"] == "cancelled"
    assert cancelled["finishedAt"] is not None
    assert again == cancelled
    assert _trigger(api, sync) != run_id, "a cancelled run no longer takes triggers"


def test_cancelling_a_running_run_asks_its_worker_to_stop(api: Api) -> None:
    sync = _sync(api)
    run_id = _trigger(api, sync)
    _lease(api.catalog, run_id)

    answer = api.ok("POST", f"/syncs/{sync.id}/runs/{run_id}/cancel")

    assert answer["status"] == "querying", "the worker stops it at its next batch boundary"
    assert _run(api.catalog, run_id).cancel_requested


def test_a_finished_run_cannot_be_cancelled(api: Api) -> None:
    sync = _sync(api)
    (run_id,) = _finished_runs(api, sync, 1)

    response = api.post(f"/syncs/{sync.id}/runs/{run_id}/cancel")

    # A 409 says what conflicts, on top and where: the run the path names.
    assert response.status_code == 409
    body = response.json()
    assert body["message"].startswith(f"run {run_id} already finished as success")
    assert body["details"] == {"path.runId": {"message": body["message"], "value": run_id}}


def test_a_run_of_another_sync_is_not_found(api: Api) -> None:
    first = _sync(api, "first")
    second = _sync(api, "second")
    run_id = _trigger(api, first)

    assert api.post(f"/syncs/{second.id}/runs/{run_id}/cancel").status_code == 404
    assert api.get(f"/syncs/{second.id}/runs/{run_id}/rows").status_code == 404
    assert _run(api.catalog, run_id).status == "queued"


# -- row results ------------------------------------------------------------------------------


def test_row_results_filter_by_status_and_operation_and_page(api: Api) -> None:
    sync = _sync(api)
    run_id = int(_trigger(api, sync))
    _lease(api.catalog, run_id)
    outcomes = [
        RowOutcome("1", Operation.ADDED, "succeeded"),
        RowOutcome("2", Operation.ADDED, "failed", reason="email is not valid"),
        RowOutcome("3", Operation.CHANGED, "failed", reason="too long", attempts=2),
        RowOutcome("4", Operation.REMOVED, "succeeded"),
    ]
    with api.catalog.session() as session:
        session.runs.record_rows(run_id, outcomes)

    def keys(**params: Any) -> list[str]:
        body = api.ok("GET", f"/syncs/{sync.id}/runs/{run_id}/rows", params=params)
        return [row["primaryKey"] for row in body["data"]]

    assert keys() == ["1", "2", "3", "4"]
    assert keys(status="failed") == ["2", "3"]
    assert keys(status="succeeded", op="removed") == ["4"]
    assert keys(op="added", offset=1) == ["2"]
    page = api.ok("GET", f"/syncs/{sync.id}/runs/{run_id}/rows", params={"limit": 1})
    assert page["hasMore"] is True
    failed = api.ok("GET", f"/syncs/{sync.id}/runs/{run_id}/rows", params={"status": "failed"})
    assert failed["data"][1]["reason"] == "too long"
    assert failed["data"][1]["attempts"] == 2
    assert failed["data"][1]["operation"] == "changed"
    bad = api.get(f"/syncs/{sync.id}/runs/{run_id}/rows", params={"status": "rejected"})
    assert bad.status_code == 422
