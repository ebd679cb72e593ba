"""When schedules are due: intervals, cron, visual, time zones, daylight saving, month ends."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

import pytest

from syncline.errors import ConfigError
from syncline.scheduling.schedules import count_due, due_times, latest_due, next_due


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=UTC)


def cron(expression: str, timezone: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"expression": expression}
    if timezone:
        body["timezone"] = timezone
    return {"type": "cron", "schedule": body}


def visual(days: list[str], at: str, timezone: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"expressions": [{"days": {d: True for d in days}, "time": at}]}
    if timezone:
        body["timezone"] = timezone
    return {"type": "visual", "schedule": body}


def interval(unit: str, quantity: int) -> dict[str, Any]:
    return {"type": "interval", "schedule": {"interval": {"unit": unit, "quantity": quantity}}}


def first(schedule: dict[str, Any], after: datetime, count: int) -> list[datetime]:
    return list(islice(due_times(schedule, after), count))


# -- intervals ---------------------------------------------------------------------------


def test_intervals_fall_on_a_fixed_grid_whatever_the_starting_time() -> None:
    quarter = interval("minute", 15)
    for after in (
        _utc(2026, 12, 4, 10, 0),
        _utc(2026, 12, 4, 10, 7, 31),
        _utc(2026, 12, 4, 10, 14),
    ):
        assert next_due(quarter, after) == _utc(2026, 12, 4, 10, 15)
    # A due time itself is not "after": the next one is.
    assert next_due(quarter, _utc(2026, 12, 4, 10, 15)) == _utc(2026, 12, 4, 10, 30)


def test_day_and_week_intervals_start_at_midnight_utc_and_on_mondays() -> None:
    assert next_due(interval("day", 1), _utc(2026, 12, 4, 10, 0)) == _utc(2026, 12, 5)
    # 2026-12-07 is a Monday.
    assert next_due(interval("week", 1), _utc(2026, 12, 4, 10, 0)) == _utc(2026, 12, 7)


def test_an_interval_series_is_the_same_from_any_restart_point() -> None:
    six_hours = interval("hour", 6)
    series = first(six_hours, _utc(2026, 1, 1), 40)
    for restart in series[5:30]:
        assert (
            first(six_hours, restart - timedelta(seconds=1), 5)
            == [due for due in series if due >= restart][:5]
        )
    assert all(b - a == timedelta(hours=6) for a, b in zip(series, series[1:], strict=False))


# -- cron --------------------------------------------------------------------------------


def test_cron_steps_lists_ranges_and_names() -> None:
    assert first(cron("*/20 9-10 * * *"), _utc(2026, 12, 4), 7) == [
        _utc(2026, 12, 4, 9, 0),
        _utc(2026, 12, 4, 9, 20),
        _utc(2026, 12, 4, 9, 40),
        _utc(2026, 12, 4, 10, 0),
        _utc(2026, 12, 4, 10, 20),
        _utc(2026, 12, 4, 10, 40),
        _utc(2026, 12, 5, 9, 0),
    ]
    # 2026-12-04 is a Friday: mon-fri runs skip to Monday the 7th.
    assert first(cron("0 6 * * MON-fri"), _utc(2026, 12, 4, 7), 2) == [
        _utc(2026, 12, 7, 6),
        _utc(2026, 12, 8, 6),
    ]
    assert next_due(cron("0 0 1 jan,jul *"), _utc(2026, 2, 1)) == _utc(2026, 7, 1)
    assert next_due(cron("5/20 * * * *"), _utc(2026, 12, 4, 10, 30)) == _utc(2026, 12, 4, 10, 45)


def test_day_of_week_seven_and_zero_are_sunday() -> None:
    assert next_due(cron("0 0 * * 7"), _utc(2026, 12, 4)) == _utc(2026, 12, 6)
    assert next_due(cron("0 0 * * 0"), _utc(2026, 12, 4)) == _utc(2026, 12, 6)


def test_day_of_month_and_day_of_week_both_set_means_either() -> None:
    # The 13th of each month OR every Friday, as cron has always read it.
    either = first(cron("0 0 13 * fri"), _utc(2026, 11, 1), 6)
    assert either == [
        _utc(2026, 11, 6),
        _utc(2026, 11, 13),  # a Friday and the 13th: once
        _utc(2026, 11, 20),
        _utc(2026, 11, 27),
        _utc(2026, 12, 4),
        _utc(2026, 12, 11),
    ]
    assert next_due(cron("0 0 13 * *"), _utc(2026, 11, 14)) == _utc(2026, 12, 13)
    # With a "*" day of month, the day of week alone decides.
    assert next_due(cron("0 0 * * fri"), _utc(2026, 11, 13)) == _utc(2026, 11, 20)


def test_day_31_runs_only_in_months_that_have_it() -> None:
    assert first(cron("0 0 31 * *"), _utc(2026, 1, 31, 1), 4) == [
        _utc(2026, 3, 31),
        _utc(2026, 5, 31),
        _utc(2026, 7, 31),
        _utc(2026, 8, 31),
    ]


def test_february_29_runs_in_leap_years_only() -> None:
    assert first(cron("0 12 29 2 *"), _utc(2026, 3, 1), 2) == [
        _utc(2028, 2, 29, 12),
        _utc(2032, 2, 29, 12),
    ]


def test_a_date_that_never_comes_is_never_due() -> None:
    assert next_due(cron("0 0 30 2 *"), _utc(2026, 1, 1)) is None


@pytest.mark.parametrize(
    ("expression", "named"),
    [
        ("61 * * * *", "minute '61'"),
        ("0 24 * * *", "hour '24'"),
        ("0 0 0 * *", "day of month '0'"),
        ("0 0 * foo *", "month 'foo'"),
        ("0 0 * * 1-", "day of week '1-'"),
        ("*/0 * * * *", "minute '*/0'"),
        ("0 0 * *", "has 4 fields"),
    ],
)
def test_a_wrong_cron_expression_names_the_field(expression: str, named: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        next_due(cron(expression), _utc(2026, 1, 1))


# -- time zones and daylight saving ------------------------------------------------------


def test_cron_runs_in_the_schedules_time_zone() -> None:
    # 09:00 in Berlin is 08:00 UTC in winter.
    assert next_due(cron("0 9 * * *", "Europe/Berlin"), _utc(2026, 12, 4)) == _utc(2026, 12, 4, 8)


def test_berlin_spring_forward_runs_a_skipped_wall_time_once_at_the_shifted_instant() -> None:
    # 2026-03-29: 02:00 CET jumps to 03:00 CEST, so 02:30 does not exist that night.
    runs = first(cron("30 2 * * *", "Europe/Berlin"), _utc(2026, 3, 27, 12), 3)
    assert runs == [
        _utc(2026, 3, 28, 1, 30),  # 02:30 CET
        _utc(2026, 3, 29, 1, 30),  # 03:30 CEST, the instant 02:30 CET would have been
        _utc(2026, 3, 30, 0, 30),  # 02:30 CEST
    ]


def test_berlin_fall_back_runs_a_repeated_wall_time_once() -> None:
    # 2026-10-25: 03:00 CEST falls back to 02:00 CET, so 02:30 happens twice.
    runs = first(cron("30 2 * * *", "Europe/Berlin"), _utc(2026, 10, 23, 12), 3)
    assert runs == [
        _utc(2026, 10, 24, 0, 30),
        _utc(2026, 10, 25, 0, 30),  # the first 02:30 (CEST) only
        _utc(2026, 10, 26, 1, 30),
    ]


def test_hourly_cron_in_berlin_neither_doubles_nor_goes_backwards_across_changes() -> None:
    spring = first(cron("0 * * * *", "Europe/Berlin"), _utc(2026, 3, 28, 23, 30), 4)
    assert spring == [_utc(2026, 3, 29, h) for h in (0, 1, 2, 3)]  # 01:00, 03:00, 04:00, 05:00
    fall = first(cron("0 * * * *", "Europe/Berlin"), _utc(2026, 10, 24, 23, 30), 3)
    # 02:00 CEST (00:00Z), then 02:00 CET (01:00Z) is the same wall time again: skipped.
    assert fall == [_utc(2026, 10, 25, 0), _utc(2026, 10, 25, 2), _utc(2026, 10, 25, 3)]


def test_new_york_visual_schedule_across_spring_forward() -> None:
    # 2026-03-08 (a Sunday): 02:00 EST jumps to 03:00 EDT.
    sundays = visual(["sunday"], "02:30", "America/New_York")
    assert first(sundays, _utc(2026, 3, 1, 12), 3) == [
        _utc(2026, 3, 8, 7, 30),  # 03:30 EDT, once
        _utc(2026, 3, 15, 6, 30),  # 02:30 EDT
        _utc(2026, 3, 22, 6, 30),
    ]


def test_new_york_visual_schedule_across_fall_back() -> None:
    # 2026-11-01 (a Sunday): 02:00 EDT falls back to 01:00 EST; 01:30 happens twice.
    sundays = visual(["sunday"], "01:30", "America/New_York")
    assert first(sundays, _utc(2026, 10, 30), 2) == [
        _utc(2026, 11, 1, 5, 30),  # 01:30 EDT, and not again at 01:30 EST
        _utc(2026, 11, 8, 6, 30),
    ]


def test_new_york_cron_across_both_changes() -> None:
    daily = cron("30 1 * * *", "America/New_York")
    assert first(daily, _utc(2026, 10, 31, 12), 2) == [
        _utc(2026, 11, 1, 5, 30),
        _utc(2026, 11, 2, 6, 30),
    ]
    at_two_thirty = cron("30 2 * * *", "America/New_York")
    assert first(at_two_thirty, _utc(2026, 3, 7, 12), 2) == [
        _utc(2026, 3, 8, 7, 30),
        _utc(2026, 3, 9, 6, 30),
    ]


def test_visual_schedule_with_several_days_and_times_in_utc() -> None:
    schedule = {
        "type": "visual",
        "schedule": {
            "expressions": [
                {"days": {"monday": True, "wednesday": True, "friday": False}, "time": "08:30"},
                {"days": {"friday": True}, "time": "17:00"},
            ]
        },
    }
    assert first(schedule, _utc(2026, 12, 4), 4) == [
        _utc(2026, 12, 4, 17),
        _utc(2026, 12, 7, 8, 30),
        _utc(2026, 12, 9, 8, 30),
        _utc(2026, 12, 11, 17),
    ]


# -- manual, dbt, and counting -----------------------------------------------------------


def test_manual_and_dbt_schedules_have_no_clock_time() -> None:
    assert next_due(None, _utc(2026, 1, 1)) is None
    dbt = {"type": "dbt", "schedule": {"account": {"id": "1"}, "job": {"id": "2"}}}
    assert next_due(dbt, _utc(2026, 1, 1)) is None


def test_counting_and_the_latest_due_time_in_a_window() -> None:
    hourly = interval("hour", 1)
    start, end = _utc(2026, 12, 4, 11), _utc(2026, 12, 4, 15, 10)
    assert count_due(hourly, start, end, limit=100) == 4
    assert count_due(hourly, start, end, limit=2) == 2
    assert latest_due(hourly, start, end) == _utc(2026, 12, 4, 15)
    daily = cron("0 6 * * *")
    assert latest_due(daily, _utc(2026, 12, 1, 6), _utc(2026, 12, 4, 5)) == _utc(2026, 12, 3, 6)


def test_the_latest_due_time_after_a_long_downtime() -> None:
    every_minute = cron("* * * * *")
    year_ago, now = _utc(2025, 1, 1), _utc(2026, 1, 1, 0, 0, 30)
    assert latest_due(every_minute, year_ago, now) == _utc(2026, 1, 1)
    assert count_due(every_minute, year_ago, now, limit=1000) == 1000
    leap_day = cron("0 0 29 2 *")
    assert latest_due(leap_day, _utc(2020, 2, 29), _utc(2026, 1, 1)) == _utc(2024, 2, 29)
    assert latest_due(leap_day, _utc(2024, 2, 29), _utc(2024, 2, 29)) == _utc(2024, 2, 29)
