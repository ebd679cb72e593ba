"""How the command line shows values in its tables."""

from __future__ import annotations

from datetime import UTC, datetime

from syncline.cli.output import _text


def test_an_instant_keeps_its_zone_and_a_wall_time_has_none() -> None:
    instant = datetime(2020, 1, 1, 8, 0, tzinfo=UTC)
    wall_time = datetime(2020, 1, 1, 8, 0)

    assert _text(instant) == "2020-01-01 08:00:00 UTC"
    assert _text(wall_time) == "2020-01-01 08:00:00"
    assert _text(None) == "-"
