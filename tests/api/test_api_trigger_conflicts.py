"""A trigger joining a queued run may add flags to it but never contradict them."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from api_fixtures import Api
from test_api_runs import _finish, _lease, _run, _sync, _trigger


def _queued_behind_a_running_run(api: Api) -> tuple[Any, str]:
    sync = _sync(api)
    _lease(api.catalog, _trigger(api, sync))
    return sync, _trigger(api, sync)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"fullResync": True}, {"resetCDC": True}),
        ({"resetCDC": True}, {"fullResync": True}),
        ({"resetCDC": True}, {"clearAndFill": True}),
        ({}, {"dryRun": True}),
    ],
)
def test_a_trigger_contradicting_the_queued_run_is_422_naming_it(
    api: Api, first: dict[str, bool], second: dict[str, bool]
) -> None:
    sync, queued = _queued_behind_a_running_run(api)
    if first:
        assert _trigger(api, sync, json=first) == queued

    response = api.post(f"/syncs/{sync.id}/trigger", json=second)

    assert response.status_code == 422, response.text
    problem = response.json()["details"]["body"]
    assert f"run {queued} is already queued" in problem["message"]
    assert "cancel run" in problem["message"]
    for name in first:
        assert name in problem["message"]
    run = _run(api.catalog, queued)
    assert (run.full_resync, run.reset_cdc, run.dry_run) == (
        bool(first.get("fullResync")),
        bool(first.get("resetCDC")),
        False,
    ), "the queued run keeps its flags"


@pytest.mark.parametrize(
    "second",
    [{}, {"dryRun": False}, {"fullResync": True}],
    ids=["plain", "dryRun-false", "fullResync"],
)
def test_a_trigger_that_writes_is_422_while_a_dry_run_is_queued_and_it_stays_dry(
    api: Api, second: dict[str, bool]
) -> None:
    sync = _sync(api)
    _lease(api.catalog, _trigger(api, sync))
    dry = _trigger(api, sync, json={"dryRun": True})

    response = api.post(f"/syncs/{sync.id}/trigger", json=second)

    assert response.status_code == 422, response.text
    message = response.json()["details"]["body"]["message"]
    assert f"run {dry} is already queued for this sync (dryRun)" in message
    assert "cannot join the queued dry run" in message
    run = _run(api.catalog, dry)
    assert (run.status, run.dry_run, run.full_resync) == ("queued", True, False)


def test_a_trigger_that_writes_gets_a_run_of_its_own_once_the_dry_run_started(
    api: Api,
) -> None:
    sync = _sync(api)
    running = _trigger(api, sync)
    _lease(api.catalog, running)
    dry = _trigger(api, sync, json={"dryRun": True})
    _finish(api.catalog, running)
    _lease(api.catalog, dry)

    queued = _trigger(api, sync)

    assert queued not in (running, dry)
    assert not _run(api.catalog, queued).dry_run
    assert _run(api.catalog, dry).dry_run


def test_compatible_flags_still_join_the_queued_run(api: Api) -> None:
    sync, queued = _queued_behind_a_running_run(api)
    assert _trigger(api, sync, json={"fullResync": True}) == queued
    assert _trigger(api, sync, json={"clearAndFill": True}) == queued
    assert _trigger(api, sync) == queued
    run = _run(api.catalog, queued)
    assert (run.full_resync, run.clear_and_fill, run.reset_cdc) == (True, True, False)


def test_unknown_trigger_keys_are_tolerated_and_logged(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    sync = _sync(api)
    with caplog.at_level(logging.INFO, logger="syncline.api.routes.runs"):
        _trigger(api, sync, json={"fullresync": True, "fullResync": False})
    assert any("fullresync" in r.getMessage() for r in caplog.records)
