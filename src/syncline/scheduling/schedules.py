"""When a stored schedule is next due: interval, cron and visual schedules.

A schedule is the API's wrapper ``{"type": ..., "schedule": {...}}`` (API.md 4.3, 9.1);
``None`` is Manual and never due, and a ``dbt`` schedule is due when dbt Cloud says so
(see :mod:`syncline.scheduling.dbt_cloud`), so it has no clock time either.

Intervals count from a fixed anchor, Monday 2001-01-01 00:00 UTC, so an hourly sync
fires on the hour and a restart never shifts the series. Cron and visual schedules
name wall-clock times, in UTC unless the body carries ``"timezone"``. Across a
daylight-saving change a wall time that does not exist fires once, at the instant the
clock jumps to (02:30 on a spring-forward night fires at 03:30), and a wall time that
exists twice fires once, at its first occurrence.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from syncline.errors import ConfigError
from syncline.scheduling.cron import parse_cron

ANCHOR = datetime(2001, 1, 1, tzinfo=UTC)
"""Where every interval series starts: a Monday at midnight UTC."""

INTERVAL_UNITS = {
    # The units of an interval schedule, shortest first.
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
}
MAX_PERIOD = timedelta(days=3653)
"""The longest interval a schedule may have: ten years. Longer ones would overflow the
calendar when due times are computed."""
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_SEARCH_DAYS = 366 * 8 + 2
"""How far ahead to look for a wall-clock match: past two leap days (Feb 29 every 4 years,
skipped in 2100)."""

_LOOKBACKS = (timedelta(days=2), timedelta(days=40), timedelta(days=400), None)
_TICK = timedelta(microseconds=1)

CLOCK_TYPES = ("interval", "cron", "visual")
"""Schedule types that are due at clock times (``dbt`` waits for dbt Cloud instead)."""


def schedule_key(schedule: dict[str, Any] | None) -> str:
    """A digest of the schedule, to tell when a stored state belongs to an older schedule."""
    canonical = json.dumps(schedule, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def schedule_type(schedule: dict[str, Any] | None) -> str | None:
    """The stored type (``interval``, ``cron``, ``visual``, ``dbt``), None when manual."""
    if schedule is None:
        return None
    kind = str(schedule.get("type"))
    return "dbt" if kind in ("dbt-cloud", "dbtCloud", "dbt_cloud") else kind


def next_due(schedule: dict[str, Any] | None, after: datetime) -> datetime | None:
    """The first due time strictly after ``after`` (UTC), or None when never due by clock.

    ConfigError when the schedule cannot be read; the message names what to fix.
    """
    return next(due_times(schedule, after), None)


def due_times(schedule: dict[str, Any] | None, after: datetime) -> Iterator[datetime]:
    """Every due time strictly after ``after``, in order (UTC, timezone-aware)."""
    if after.tzinfo is None:
        raise ValueError("'after' must be timezone-aware")
    if schedule_type(schedule) not in CLOCK_TYPES:
        return iter(())
    assert schedule is not None
    plan = _compile(schedule_key(schedule), json.dumps(schedule, default=str))
    return plan.due_after(after.astimezone(UTC))


def count_due(
    schedule: dict[str, Any] | None, after: datetime, until: datetime, *, limit: int
) -> int:
    """How many due times fall in (``after``, ``until``], counting at most ``limit``."""
    count = 0
    for due in due_times(schedule, after):
        if due > until or count >= limit:
            break
        count += 1
    return count


def latest_due(schedule: dict[str, Any] | None, first: datetime, until: datetime) -> datetime:
    """The last due time at or before ``until``, given that ``first`` is one (for catch-up)."""
    plan_kind = schedule_type(schedule)
    if plan_kind == "interval":
        assert schedule is not None
        period = _period(schedule.get("schedule") or {})
        return first + ((until - first) // period) * period

    # Look back over growing windows, so that a long downtime of a frequent schedule does
    # not walk every due time since ``first``.
    for lookback in _LOOKBACKS:
        start = first if lookback is None or until - first < lookback else until - lookback
        latest = None
        for due in due_times(schedule, start - _TICK):
            if due > until:
                break
            latest = due
        if latest is not None:
            return latest
    return first


# -- compiled schedules ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Interval:
    period: timedelta

    def due_after(self, after: datetime) -> Iterator[datetime]:
        steps = (after - ANCHOR) // self.period + 1
        due = ANCHOR + steps * self.period
        while True:
            yield due
            due += self.period


@dataclass(frozen=True)
class _WallClock:
    """Times of day on chosen days, in one time zone."""

    zone: ZoneInfo
    times_on: Callable[[date], tuple[time, ...]]

    def due_after(self, after: datetime) -> Iterator[datetime]:
        # Start a day early: a gap can move a wall time of the previous day past ``after``.
        day = after.astimezone(self.zone).date() - timedelta(days=1)
        last = after
        idle = 0
        while idle < _SEARCH_DAYS:
            instants = sorted(
                # fold=0: a repeated wall time means its first occurrence, and a skipped
                # one is read with the offset before the jump, i.e. the shifted instant.
                datetime.combine(day, at, tzinfo=self.zone).astimezone(UTC)
                for at in self.times_on(day)
            )
            found = False
            for instant in instants:
                if instant > last:
                    yield instant
                    last = instant
                    found = True
            idle = 0 if found else idle + 1
            day += timedelta(days=1)


@lru_cache(maxsize=1024)
def _compile(key: str, text: str) -> _Interval | _WallClock:
    del key  # part of the cache key only
    schedule = json.loads(text)
    kind = schedule_type(schedule)
    body = schedule.get("schedule")
    if not isinstance(body, dict):
        raise ConfigError(f"the {kind} schedule has no 'schedule' body; re-save the schedule")

    if kind == "interval":
        return _Interval(_period(body))
    zone = _zone(body)
    if kind == "cron":
        cron = parse_cron(str(body.get("expression", "")))
        return _WallClock(zone, cron.times_on)
    return _WallClock(zone, _visual_times(body))


def _period(body: dict[str, Any]) -> timedelta:
    interval = body.get("interval") or {}
    unit, quantity = interval.get("unit"), interval.get("quantity")
    if unit not in INTERVAL_UNITS or not isinstance(quantity, int) or quantity < 1:
        raise ConfigError(
            f"interval schedule {interval!r} needs a unit (minute, hour, day, week) and a "
            "positive whole quantity, e.g. {unit: hour, quantity: 1}"
        )
    if quantity > MAX_PERIOD // INTERVAL_UNITS[unit]:
        raise ConfigError(
            f"interval schedule {interval!r} is longer than ten years; use a cron or "
            "visual schedule for rare runs, or a shorter interval"
        )
    return INTERVAL_UNITS[unit] * quantity


def _zone(body: dict[str, Any]) -> ZoneInfo:
    name = body.get("timezone") or "UTC"
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown time zone {name!r} in the schedule; use an IANA name such as Europe/Berlin"
        ) from None


def _visual_times(body: dict[str, Any]) -> Callable[[date], tuple[time, ...]]:
    by_weekday: dict[int, set[time]] = {day: set() for day in range(7)}
    for item in body.get("expressions") or []:
        at = _clock_time(item.get("time") if isinstance(item, dict) else None)
        for name, chosen in (item.get("days") or {}).items():
            if chosen and name in _DAYS:
                by_weekday[_DAYS.index(name)].add(at)
    table = {day: tuple(sorted(times)) for day, times in by_weekday.items()}
    return lambda day: table[day.weekday()]


def _clock_time(text: object) -> time:
    try:
        hours, minutes = str(text).split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ConfigError(
            f"visual schedule time {text!r} is not HH:MM (24-hour); write e.g. '08:30'"
        ) from None
