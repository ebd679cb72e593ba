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


def test_a_year_below_1000_shows_four_digits_as_a_date_does() -> None:
    assert _text(datetime(1, 1, 1)) == "0001-01-01 00:00:00"
    assert _text(datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC)) == "0999-12-31 23:59:59 UTC"


def test_text_with_spaces_at_its_edges_is_quoted_so_they_show() -> None:
    assert _text("a ") == "'a '"
    assert _text(" a") == "' a'"
    assert _text("a b") == "a b"
