"""Five-field cron expressions: which days and which times of day they name.

A field is ``*``, a number or name, a range ``a-b``, any of those with a step
(``*/15``, ``1-30/2``, ``5/10`` = from 5 to the field's end every 10), or a comma
list of them. Day of month and day of week combine as cron has always done: when
both are restricted (neither starts with ``*``), a day matches if EITHER matches;
otherwise both must. Day of week 0 and 7 are Sunday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from syncline.errors import ConfigError
from syncline.numerals import whole_number

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    first_name: int = 0
    """The number the first of ``names`` stands for."""


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTHS, 1),
    _Field("day of week", 0, 7, _WEEKDAYS, 0),
)


@dataclass(frozen=True)
class CronExpression:
    """A parsed cron expression; ``times`` is every time of day it names, in order."""

    expression: str
    times: tuple[time, ...]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]
    """0 = Sunday ... 6 = Saturday (7 is folded into 0)."""
    day_of_month_restricted: bool
    day_of_week_restricted: bool

    def matches_day(self, day: date) -> bool:
        """Whether the expression names this calendar day (month, and the OR rule)."""
        if day.month not in self.months:
            return False
        in_month = day.day in self.days_of_month
        in_week = (day.weekday() + 1) % 7 in self.days_of_week
        if self.day_of_month_restricted and self.day_of_week_restricted:
            return in_month or in_week
        return in_month and in_week

    def times_on(self, day: date) -> tuple[time, ...]:
        """The wall-clock times the expression fires on ``day`` (none if the day is not named)."""
        return self.times if self.matches_day(day) else ()


def parse_cron(expression: str) -> CronExpression:
    """Parse a five-field expression; ConfigError names the field and value that are wrong."""
    parts = expression.split()
    if len(parts) != 5:
        raise ConfigError(
            f"cron expression {expression!r} has {len(parts)} fields; write five: "
            "minute hour day-of-month month day-of-week, e.g. '30 6 * * 1-5'"
        )

    values = [
        _parse_field(part, spec, expression) for part, spec in zip(parts, _FIELDS, strict=True)
    ]
    minutes, hours, days_of_month, months, days_of_week = values
    times = tuple(time(h, m) for h in sorted(hours) for m in sorted(minutes))
    return CronExpression(
        expression=expression,
        times=times,
        days_of_month=frozenset(days_of_month),
        months=frozenset(months),
        days_of_week=frozenset(d % 7 for d in days_of_week),
        day_of_month_restricted=not parts[2].startswith(("*", "?")),
        day_of_week_restricted=not parts[4].startswith(("*", "?")),
    )


def cron_field_problems(expression: str) -> dict[int, str]:
    """What is wrong with each field of a five-field expression, by its index (0 = minute).

    :func:`parse_cron` stops at the first wrong field; this names every one, so that a
    single pass of ``syncline validate`` reports them all.
    """
    problems = {}
    for index, (part, spec) in enumerate(zip(expression.split(), _FIELDS, strict=False)):
        try:
            _parse_field(part, spec, expression)
        except ConfigError as error:
            problems[index] = error.message
    return problems


def _parse_field(text: str, spec: _Field, expression: str) -> set[int]:
    found: set[int] = set()
    for item in text.split(","):
        found |= _parse_item(item, spec, expression)
    return found


def _parse_item(item: str, spec: _Field, expression: str) -> set[int]:
    def bad(why: str) -> ConfigError:
        return ConfigError(
            f"cron expression {expression!r}: {spec.name} {item!r} {why}; "
            f"use numbers {spec.low}-{spec.high}"
            + (f" or names {spec.names[0]}-{spec.names[-1]}" if spec.names else "")
            + ", '*', ranges a-b, steps /n and lists a,b"
        )

    span, _, step_text = item.partition("/")
    step = 1
    if step_text:
        given = whole_number(step_text)
        if not given:
            raise bad("has a step that is not a positive number")
        step = given

    if span in ("*", "?"):
        low, high = spec.low, spec.high
    elif "-" in span:
        first, _, last = span.partition("-")
        start, end = _number(first, spec), _number(last, spec)
        if start is None or end is None:
            raise bad("is not a range of known values")
        low, high = start, end
        if low > high:
            raise bad("is a range that runs backwards")
    else:
        value = _number(span, spec)
        if value is None:
            raise bad("is not a known value")
        # "5/10" means from 5 to the end of the field, every 10.
        low, high = value, (spec.high if step_text else value)

    if not (spec.low <= low and high <= spec.high):
        raise bad("is out of range")
    return set(range(low, high + 1, step))


def _number(text: str, spec: _Field) -> int | None:
    number = whole_number(text)
    if number is not None:
        return number
    lowered = text.lower()
    if lowered in spec.names:
        return spec.names.index(lowered) + spec.first_name
    return None
