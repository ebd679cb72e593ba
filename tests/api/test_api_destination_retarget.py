"""A destination pointed at another target makes its syncs start over; other edits do not."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from api_fixtures import Api, make_pipeline
from test_api_resources import _snapshot


def test_a_new_url_drops_the_snapshots_of_the_destinations_syncs(
    api: Api, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    made = make_pipeline(api, tmp_path)
    snapshot = _snapshot(api, made.sync)

    api.ok("PATCH", f"/destinations/{made.destination}", json={"configuration": {"batch_size": 7}})
    assert snapshot.exists(), "a setting that does not say where rows go keeps the snapshot"

    secrets = {"secret": "s2", "headers": None}  # a new URL takes no stored secret
    with caplog.at_level(logging.INFO, logger="syncline.api.routes.destinations"):
        api.ok(
            "PATCH",
            f"/destinations/{made.destination}",
            json={"configuration": {"url": "http://127.0.0.1:9/other-hook", **secrets}},
        )
    assert not snapshot.exists()
    assert any("points elsewhere (url)" in r.getMessage() for r in caplog.records)
