"""A trigger joining a queued run may add flags to it but never contradict them."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from api_fixtures import Api
from test_api_runs import _lease, _run, _sync, _trigger


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
