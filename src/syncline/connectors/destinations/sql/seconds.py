"""Fractional seconds a timestamp or time column would cut, found before staging.

A column holds a fixed number of fractional-second digits: six at most in PostgreSQL
(``timestamp(3)`` three), none in MySQL's plain ``DATETIME``, ``TIMESTAMP`` and ``TIME``,
and in DuckDB as many as its type's unit (``TIMESTAMP_MS`` three, ``TIMESTAMP`` six,
``TIMESTAMP_NS`` nine). A value with more digits is stored rounded or truncated, silently,
and counted as sent: ``12:00:00.5`` becomes ``12:00:01`` or ``12:00:00``, and a
nanosecond timestamp loses its last three digits in every microsecond column. Those
values are found here, column-wise, and the row is rejected with a reason naming the
column and the fix. Nothing is computed when the values' unit fits the column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

from syncline.connectors.destinations.sql.refusals import refuse_marked
from syncline.connectors.sources.infinity import infinite

_UNIT_DIGITS = {"s": 0, "ms": 3, "us": 6, "ns": 9}
"""Fractional-second digits of each Arrow unit."""

_SQL_TYPE = re.compile(
    r"(?P<kind>timestamp|datetime|time)(?:\s*\(\s*(?P<digits>\d)\s*\))?"
    r"(?P<zone>\s+with(?:out)?\s+time\s+zone)?",
    re.I,
)
"""PostgreSQL's and MySQL's timestamp and time types, with their digits if given."""

_DUCKDB_FAMILIES = [
    ["TIMESTAMP_S", "", "", "TIMESTAMP_MS", "", "", "TIMESTAMP", "", "", "TIMESTAMP_NS"],
    ["", "", "", "", "", "", "TIMESTAMP WITH TIME ZONE"],
    ["", "", "", "", "", "", "TIME", "", "", "TIME_NS"],
    ["", "", "", "", "", "", "TIME WITH TIME ZONE"],
]
"""DuckDB's timestamp and time types, each family indexed by the digits a type holds."""


@dataclass(frozen=True)
class SecondsColumn:
    """A timestamp or time column and how many fractional-second digits it holds."""

    type_name: str
    digits: int
    time: bool
    """Whether the column holds a time of day (or, in MySQL, a duration)."""
    family: tuple[str, ...]
    """The types of the column's kind, indexed by the digits each holds ("" for none)."""

    def wider(self, digits: int) -> str | None:
        """The narrowest type of the column's kind holding ``digits``, if there is one."""
        return next((kind for kind in self.family[digits:] if kind), None)


def seconds_column(type_name: str, dialect: str) -> SecondsColumn | None:
    """The digits a column of ``type_name`` holds; None when it is no timestamp or time."""
    kind = " ".join(type_name.split())
    if dialect == "duckdb":
        for family in _DUCKDB_FAMILIES:
            if kind.upper() in family:
                time = not family[6].startswith("TIMESTAMP")
                return SecondsColumn(type_name, family.index(kind.upper()), time, tuple(family))
        return None

    match = _SQL_TYPE.fullmatch(kind)
    if match is None:
        return None
    name = match["kind"].lower()
    # MySQL's types hold no fractional digits unless given; PostgreSQL's hold six.
    default = 0 if dialect == "mysql" else 6
    digits = default if match["digits"] is None else int(match["digits"])
    zone = (match["zone"] or "").lower()
    types = tuple(f"{name}({p}){zone}" for p in range(7))
    return SecondsColumn(type_name, digits, name == "time", types)


def refuse_cut_seconds(
    records: pa.Table, columns: dict[str, str], table: str, *, dialect: str
) -> dict[int, str]:
    """The rows of ``records`` holding more fractional-second digits than their column,
    by position, with the reason.

    ``columns`` are the table's column types by name. Timestamps go to timestamp
    columns; times and durations to time columns. Infinite timestamps are left to the
    checks of infinity.
    """
    reasons: dict[int, str] = {}
    for name, values in zip(records.column_names, records.columns, strict=True):
        kind = values.type
        if pat.is_dictionary(kind):
            kind = kind.value_type
        if not (pat.is_timestamp(kind) or pat.is_time(kind) or pat.is_duration(kind)):
            continue
        target = seconds_column(columns.get(name, ""), dialect)
        if target is None or target.time == pat.is_timestamp(kind):
            continue
        digits = _UNIT_DIGITS[kind.unit]
        if digits <= target.digits:
            continue

        if pat.is_dictionary(values.type):
            values = pc.cast(values, kind)
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        mask = _cut(values, 10 ** (digits - target.digits))
        infinities = infinite(values) if pat.is_timestamp(kind) else None
        if infinities is not None:
            mask = pc.and_(mask, pc.invert(infinities))
        reason = _reason(name, target, table, digits)
        refuse_marked(reasons, mask, reason)
    return reasons


def _cut(values: Any, step: int) -> Any:
    """A mask of the values that are not a whole multiple of ``step`` units."""
    ticks = values.view(pa.int64() if values.type.bit_width == 64 else pa.int32())
    ticks = pc.cast(ticks, pa.int64())
    # Integer division truncates; a multiple of the step comes back to itself either way.
    return pc.not_equal(pc.multiply(pc.divide(ticks, step), step), ticks)


def _reason(name: str, target: SecondsColumn, table: str, digits: int) -> str:
    column = f"column {name!r} ({target.type_name}) of table {table}"
    what = "time" if target.time else "timestamp"
    fix = f"round the value to {_unit(target.digits)} in the model's SQL"
    wider = target.wider(digits)
    widest = len(target.family) - 1
    if wider is not None:
        fix = f"widen the column (ALTER its type to {wider}) or {fix}"
    elif widest > target.digits:
        # No type holds every digit: widening still needs the value rounded, less.
        fix += (
            f" (or to {_unit(widest)} after widening the column: ALTER its type to "
            f"{target.family[widest]})"
        )
    return (
        f"field {name!r} holds a {what} with fractional seconds that {column}, which keeps "
        f"{target.digits} digits, would store rounded or cut; {fix}"
    )


def _unit(digits: int) -> str:
    """The precision of ``digits`` fractional-second digits, in words."""
    words = {0: "whole seconds", 3: "milliseconds", 6: "microseconds", 9: "nanoseconds"}
    return words.get(digits, f"{digits} fractional-second digits")
