"""Disabling a sync stops what it would still write: its queued run is cancelled.

A run already going is not touched (cancel it to stop it at its next batch).
"""

from __future__ import annotations

import logging

import pytest
from api_fixtures import Api
from test_api_runs import _finish, _lease, _run, _sync, _trigger

from syncline.catalog import RunRecord


def test_disabling_a_sync_cancels_its_queued_run_naming_the_disable(any_api: Api) -> None:
    sync = _sync(any_api)
    running = _trigger(any_api, sync)
    _lease(any_api.catalog, running)
    queued = _trigger(any_api, sync)

    any_api.ok("PATCH", f"/syncs/{sync.id}", json={"disabled": True})

    listed = any_api.ok("GET", f"/syncs/{sync.id}/runs", params={"runId": queued})["data"]
    assert [run["status"] for run in listed] == ["cancelled"]
    cancelled = _run(any_api.catalog, queued)
    assert cancelled.finished_at is not None
    assert f"sync {sync.slug!r} was disabled" in (cancelled.error or "")
    going = _run(any_api.catalog, running)
    assert (going.status, going.cancel_requested) == ("querying", False)


def test_a_sync_turned_back_on_does_not_run_what_disabling_cancelled(any_api: Api) -> None:
    sync = _sync(any_api)
    _lease(any_api.catalog, _trigger(any_api, sync))
    queued = _trigger(any_api, sync)
    any_api.ok("PATCH", f"/syncs/{sync.id}", json={"disabled": True})

    any_api.ok("PATCH", f"/syncs/{sync.id}", json={"disabled": False})

    assert _run(any_api.catalog, queued).status == "cancelled"
    fresh = _trigger(any_api, sync)
    assert fresh != queued
    assert isinstance(_run(any_api.catalog, fresh), RunRecord)


def test_a_run_cancelled_before_it_started_is_not_the_sync_s_latest_run(any_api: Api) -> None:
    sync = _sync(any_api)
    ran = _trigger(any_api, sync)
    _lease(any_api.catalog, ran)
    queued = _trigger(any_api, sync)
    any_api.ok("PATCH", f"/syncs/{sync.id}", json={"disabled": True})
    _finish(any_api.catalog, ran)

    shown = any_api.ok("PATCH", f"/syncs/{sync.id}", json={"disabled": False})

    assert _run(any_api.catalog, queued).status == "cancelled"
    assert shown["status"] == "success"
    assert shown["lastRunAt"] is not None
    with any_api.catalog.session(read_only=True) as session:
        assert session.syncs.latest_runs([sync.id])[sync.id].id == int(ran)


def test_the_cancel_of_a_queued_run_is_logged_saying_it_once(
    any_api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    sync = _sync(any_api)
    _lease(any_api.catalog, _trigger(any_api, sync))
    queued = _trigger(any_api, sync)

    with caplog.at_level(logging.INFO, logger="syncline.catalog"):
        any_api.ok("PATCH", f"/syncs/{sync.id}", json={"disabled": True})

    [logged] = [r.getMessage() for r in caplog.records if f"run {queued} " in r.getMessage()]
    assert logged.count("cancelled") == 1
    assert logged.count("before it started") == 1
