"""Validate a sync's schedule wrapper (interval, cron, visual, dbt) and normalise its type."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from syncline.errors import ConfigError
from syncline.numerals import whole_number
from syncline.project.yamlfile import Path_
from syncline.scheduling.cron import cron_field_problems
from syncline.scheduling.schedules import CLOCK_TYPES, INTERVAL_UNITS, MAX_PERIOD, next_due

TYPES = ("interval", "cron", "visual", "dbt")
"""Schedule types as stored; ``dbt-cloud`` and ``dbtCloud`` are read as ``dbt``."""

_ALIASES = {"dbt-cloud": "dbt", "dbtCloud": "dbt", "dbt_cloud": "dbt"}
UNITS = tuple(INTERVAL_UNITS)
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
_CRON_FIELD = re.compile(r"[0-9A-Za-z*/,\-?]+")
_CRON_NAMES = ("minute", "hour", "day of month", "month", "day of week")
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_CRON_SHORTHANDS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
"""The shorthands other crons take, and the five fields (API.md) each stands for."""
_QUANTITY_FIX = "write e.g. quantity: 15"
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

ScheduleProblem = tuple[Path_, str, str]
"""A problem inside a schedule: path below ``schedule``, what is wrong, the fix."""


def check_schedule(raw: Any) -> tuple[dict[str, Any] | None, list[ScheduleProblem]]:
    """The normalised schedule (None = manual) and every problem found in it."""
    if raw is None:
        return None, []
    if not isinstance(raw, dict):
        return None, [((), "the schedule must be a mapping or null", "write {type, schedule}")]

    problems: list[ScheduleProblem] = []
    for key in sorted(set(raw) - {"type", "schedule"}):
        problems.append(((key,), f"unknown key {key!r}", "keep only 'type' and 'schedule'"))

    kind = _ALIASES.get(str(raw.get("type")), raw.get("type"))
    if kind not in TYPES:
        fix = f"use one of {', '.join(TYPES)}"
        return None, [*problems, (("type",), f"unknown schedule type {raw.get('type')!r}", fix)]

    body = raw.get("schedule")
    if not isinstance(body, dict):
        return None, [*problems, (("schedule",), "the schedule body is missing", _EXAMPLES[kind])]

    problems.extend((("schedule", *path), msg, fix) for path, msg, fix in _CHECKS[kind](body))
    if not problems:
        problems.extend(_never_due({"type": kind, "schedule": body}))
    return ({"type": kind, "schedule": body} if not problems else None), problems


def _never_due(schedule: dict[str, Any]) -> list[ScheduleProblem]:
    """A schedule that passed its type's checks yet names no time that ever comes.

    The checks above catch each known way (no day chosen, a date no month has); this
    asks the scheduler itself, so no other way is stored only to never run.
    """
    if schedule["type"] not in CLOCK_TYPES:
        return []
    try:
        due = next_due(schedule, _EPOCH)
    except ConfigError as error:
        return [(("schedule",), error.message, _EXAMPLES[schedule["type"]])]
    if due is None:
        message = "the schedule names no time that ever comes, so the sync would never run"
        return [(("schedule",), message, _EXAMPLES[schedule["type"]])]
    return []


def _interval(body: dict[str, Any]) -> list[ScheduleProblem]:
    interval = body.get("interval")
    if not isinstance(interval, dict) or set(body) - {"interval"}:
        return [((), "an interval schedule is {interval: {unit, quantity}}", _EXAMPLES["interval"])]

    problems: list[ScheduleProblem] = []
    unit = interval.get("unit")
    if unit not in UNITS:
        message = f"unknown interval unit {unit!r}"
        problems.append((("interval", "unit"), message, f"use one of {', '.join(UNITS)}"))
    quantity = interval.get("quantity")
    if isinstance(quantity, str):
        message = f"the interval quantity must be a number, not the text {quantity!r}"
        digits = whole_number(quantity) is not None
        fix = f"write it without quotes: quantity: {quantity}" if digits else _QUANTITY_FIX
        problems.append((("interval", "quantity"), message, fix))
    elif not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        message = f"the interval quantity {quantity!r} is not a positive whole number"
        problems.append((("interval", "quantity"), message, _QUANTITY_FIX))
    elif unit in UNITS and quantity > MAX_PERIOD // INTERVAL_UNITS[unit]:
        message = f"an interval of {quantity} {unit}s is longer than ten years"
        fix = "use a shorter interval, or a cron or visual schedule for rare runs"
        problems.append((("interval", "quantity"), message, fix))
    return problems


def _cron(body: dict[str, Any]) -> list[ScheduleProblem]:
    problems = _timezone(body, {"expression"})
    expression = body.get("expression")
    if not isinstance(expression, str):
        return [*problems, (("expression",), "the cron expression is missing", _EXAMPLES["cron"])]

    fields = expression.split()
    fix = "write minute hour day-of-month month day-of-week, e.g. '30 6 * * 1-5'"
    if expression.strip().lower() in _CRON_SHORTHANDS:
        equal = _CRON_SHORTHANDS[expression.strip().lower()]
        message = f"the cron expression {expression!r} is a shorthand; a schedule has 5 fields"
        problems.append((("expression",), message, f"write {equal!r}, which means the same"))
        return problems
    if len(fields) != 5 or not all(_CRON_FIELD.fullmatch(f) for f in fields):
        message = f"the cron expression {expression!r} must have 5 fields"
        problems.append((("expression",), message, fix))
        return problems

    meanings = cron_field_problems(expression)
    for index, (field, name, (low, high)) in enumerate(
        zip(fields, _CRON_NAMES, _CRON_RANGES, strict=True)
    ):
        outside = [number for number in _cron_numbers(field) if not low <= number <= high]
        if outside:
            message = (
                f"the cron expression {expression!r} has {name} {outside[0]}, outside "
                f"{low} to {high}"
            )
            problems.append((("expression",), message, fix))
        elif index in meanings:
            problems.append((("expression",), meanings[index], fix))
    if not problems:
        problems.extend(_cron_meaning(expression))
    return problems


def _cron_meaning(expression: str) -> list[ScheduleProblem]:
    """What the scheduler would refuse of fields that each parse: dates that never come."""
    if next_due({"type": "cron", "schedule": {"expression": expression}}, _EPOCH) is None:
        message = f"the cron expression {expression!r} names a date that never comes"
        return [(("expression",), message, "check the day of month against the month")]
    return []


def _cron_numbers(field: str) -> list[int]:
    """The plain numbers a cron field names (ranges' ends, list items); steps excluded."""
    numbers = []
    for part in field.split(","):
        values = part.split("/", 1)[0]
        numbers += [n for v in values.split("-") if (n := whole_number(v)) is not None]
    return numbers


def _visual(body: dict[str, Any]) -> list[ScheduleProblem]:
    problems = _timezone(body, {"expressions"})
    expressions = body.get("expressions")
    if not isinstance(expressions, list) or not expressions:
        message = "a visual schedule needs a non-empty list 'expressions'"
        return [*problems, (("expressions",), message, _EXAMPLES["visual"])]

    for i, item in enumerate(expressions):
        where: Path_ = ("expressions", i)
        if not isinstance(item, dict):
            problems.append((where, "each expression is {days, time}", _EXAMPLES["visual"]))
            continue
        problems.extend(_days((*where, "days"), item.get("days")))
        time = item.get("time")
        if not isinstance(time, str) or not _TIME.fullmatch(time):
            message = f"the time {time!r} is not HH:MM (24-hour)"
            problems.append(((*where, "time"), message, "write e.g. time: '08:30'"))
    return problems


def _days(where: Path_, days: Any) -> list[ScheduleProblem]:
    """Problems of one expression's ``days``: it must choose at least one known day."""
    fix = "e.g. days: {monday: true}"
    if not isinstance(days, dict) or not days:
        return [(where, _no_days(days), fix)]

    problems: list[ScheduleProblem] = []
    for day, chosen in days.items():
        if day not in DAYS:
            problems.append(((*where, day), f"unknown day {day!r}", f"use {', '.join(DAYS)}"))
        elif not isinstance(chosen, bool):
            message = f"day {day!r} is {chosen!r}; expected true or false"
            problems.append(((*where, day), message, f"write {day}: true or {day}: false"))
    if not problems and not any(days.values()):
        # Such an expression is accepted by the scheduler but never due: refuse it here.
        message = "'days' names no day with true, so this expression never runs"
        problems.append((where, message, fix))
    return problems


def _no_days(days: Any) -> str:
    """Why ``days`` names no day: absent, empty, or not a mapping at all."""
    if days is None:
        return "'days' is missing"
    if isinstance(days, dict | list | str) and not days:
        return "'days' is empty; it must name at least one day"
    return f"'days' must be a mapping of day names, not {type(days).__name__}"


def _dbt(body: dict[str, Any]) -> list[ScheduleProblem]:
    problems: list[ScheduleProblem] = []
    for key in ("account", "job"):
        value = body.get(key)
        if not isinstance(value, dict) or "id" not in value:
            problems.append(((key,), f"'{key}.id' is missing", _EXAMPLES["dbt"]))
        elif (problem := _dbt_id_problem(key, value["id"])) is not None:
            problems.append(((key, "id"), problem, _DBT_ID_FIX[key]))
    return problems


def _dbt_id_problem(key: str, ident: Any) -> str | None:
    """Why ``ident`` is no dbt Cloud account or job id (a positive whole number), or None.

    An empty id would be polled for ever at a URL with a hole in it, so it is refused here.
    """
    if isinstance(ident, str) and not ident.strip():
        return f"'{key}.id' is empty"
    if isinstance(ident, bool) or not isinstance(ident, int | str):
        return f"'{key}.id' must be a number, not {type(ident).__name__}"
    text = str(ident)
    number = whole_number(text)
    if number is None or number < 1:
        return f"'{key}.id' {ident!r} is not a dbt Cloud id, which is a positive whole number"
    return None


_DBT_ID_FIX = {
    "account": "copy the number after /deploy/ in the job's dbt Cloud URL, e.g. account: {id: '1'}",
    "job": "copy the number after /jobs/ in the job's dbt Cloud URL, e.g. job: {id: '2'}",
}


def _timezone(body: dict[str, Any], allowed: set[str]) -> list[ScheduleProblem]:
    problems: list[ScheduleProblem] = []
    for key in sorted(set(body) - allowed - {"timezone"}):
        fix = f"keep only {', '.join(sorted(allowed | {'timezone'}))}"
        problems.append(((key,), f"unknown key {key!r}", fix))

    zone = body.get("timezone")
    if zone is not None:
        try:
            ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError):
            message = f"unknown time zone {zone!r}"
            problems.append((("timezone",), message, _zone_fix(str(zone))))
    return problems


def _zone_fix(zone: str) -> str:
    """The fix for an unknown time zone: the known one it differs from only in case."""
    lowered = zone.strip().lower()
    for known in sorted(available_timezones()):
        if known.lower() == lowered:
            return f"did you mean {known!r}?"
    return "use an IANA name such as Europe/Berlin or UTC"


def found_at(raw: Any, path: Path_) -> Any:
    """The value at ``path`` below the schedule ``raw`` as sent; None where nothing is.

    A problem repeats it, so the caller sees what was refused, not just where.
    """
    value = raw
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            value = value[part]
        else:
            return None
    return value


_CHECKS = {"interval": _interval, "cron": _cron, "visual": _visual, "dbt": _dbt}

_EXAMPLES = {
    "interval": "write schedule: {interval: {unit: hour, quantity: 1}}",
    "cron": "write schedule: {expression: '0 * * * *'}",
    "visual": "write schedule: {expressions: [{days: {monday: true}, time: '08:30'}]}",
    "dbt": "write schedule: {account: {id: '1'}, job: {id: '2'}}",
}
