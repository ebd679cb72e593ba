"""Values a bounded decimal or integer column would round or refuse, found before staging.

A ``numeric(p, s)`` column stores a value with more than ``s`` fractional digits rounded
(PostgreSQL, DuckDB, and MySQL even in strict mode), so a source column widened after
the table was made would be delivered changed and counted as sent, and the difference
never sent again. An integer column is ``numeric(digits, 0)`` here: DuckDB and MySQL
round a fraction into it (``2.5``, ``2.7`` and the text ``'1.50'`` all store a whole
number). A value with more than ``p - s`` integer digits the database refuses, with a
reason that names no column. All are found here, column-wise, against the table's column
types, and the row is rejected with a reason naming the column and fix.
"""

from __future__ import annotations

import decimal
import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

from syncline.connectors.destinations.sql.refusals import refuse_marked

_DECIMAL_TYPE = re.compile(
    r"(?:numeric|decimal)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)(?: unsigned)?(?: zerofill)?", re.I
)

_DECIMAL_TEXT = r"^\s*[+-]?0*(?P<whole>\d*)(?:\.(?P<part>\d*?)0*)?\s*$"
"""Plain decimal text: its integer digits (without leading zeros) and fractional digits
(without trailing zeros). Other text is left to the database to judge."""

_INFINITY_WORDS = pa.array(
    [f"{sign}{word}" for sign in ("", "+", "-") for word in ("inf", "infinity")], pa.string()
)
"""Decimal text of infinity, lowercased, as PostgreSQL reads it."""

_INTEGER_TYPE = re.compile(
    r"(?P<unsigned>u)?(?P<size>tiny|small|medium|big|huge)?int(?:eger)?"
    r"(?:\s*\(\s*\d+\s*\))?(?P<suffix> unsigned)?(?: zerofill)?",
    re.I,
)
"""The integer column types of PostgreSQL, MySQL and DuckDB (``UBIGINT``, ``int(11)``)."""

_INTEGER_DIGITS = {"tiny": 3, "small": 5, "medium": 8, None: 10, "big": 19, "huge": 39}
"""How many digits the largest value of each integer size has (unsigned bigint: 20)."""


@dataclass(frozen=True)
class DecimalColumn:
    """A table column of type ``numeric(precision, scale)``."""

    name: str
    type_name: str
    precision: int
    scale: int
    integer: bool = False
    """Whether the column is an integer type, which holds neither NaN nor infinities."""

    @property
    def whole_digits(self) -> int:
        """How many digits the column holds before the decimal point."""
        return self.precision - self.scale


def decimal_column(name: str, type_name: str) -> DecimalColumn | None:
    """The bounds of column ``name`` when its type is a bounded numeric or an integer."""
    match = _DECIMAL_TYPE.fullmatch(type_name.strip())
    if match is not None:
        return DecimalColumn(name, type_name, int(match[1]), int(match[2]))
    match = _INTEGER_TYPE.fullmatch(type_name.strip())
    if match is None:
        return None
    size = match["size"] and match["size"].lower()
    digits = _INTEGER_DIGITS[size]
    if size == "big" and (match["unsigned"] or match["suffix"]):
        digits += 1
    return DecimalColumn(name, type_name, digits, 0, integer=True)


def refuse_inexact(
    records: pa.Table,
    columns: dict[str, str],
    table: str,
    *,
    keeps_nan: bool,
    floats_keep_non_finite: bool = True,
) -> dict[int, str]:
    """The rows of ``records`` holding a value their bounded numeric or integer column
    cannot hold exactly, by position, with the reason.

    ``columns`` are the table's column types by name; ``keeps_nan`` says whether a
    bounded numeric column stores NaN (PostgreSQL's does); ``floats_keep_non_finite``
    whether the database's float columns store NaN and infinities, which the reason then
    offers as a fix. Decimals, integers, floats and decimal text are checked; infinity
    fits no bounded numeric, and NaN no integer column. Integers into an integer column
    are not checked: the database refuses one out of range itself.
    """
    reasons: dict[int, str] = {}
    for name, values in zip(records.column_names, records.columns, strict=True):
        target = decimal_column(name, columns.get(name, ""))
        if target is None:
            continue
        if pat.is_dictionary(values.type):
            values = pc.cast(values, values.type.value_type)
        held_nan = keeps_nan and not target.integer
        for mask, problem in _problems(values, target, keeps_nan=held_nan):
            refuse_marked(reasons, mask, _reason(problem, target, table, floats_keep_non_finite))
    return reasons


def _problems(values: Any, target: DecimalColumn, *, keeps_nan: bool) -> list[tuple[Any, str]]:
    """Masks of the values ``target`` cannot hold, each with the kind of problem."""
    kind = values.type
    if pat.is_integer(kind) and target.integer:
        return []  # a whole number too large for its column the database itself refuses
    if pat.is_integer(kind):
        # As decimals (every integer type fits 20 digits), compared without overflow.
        values = pc.cast(values, pa.decimal128(20, 0))
        kind = values.type
    if pat.is_decimal(kind):
        problems = []
        # PostgreSQL allows a scale above the precision (numeric(2, 4)): left to it.
        if kind.precision - kind.scale > target.whole_digits >= 0:
            limit = decimal.Decimal(10) ** target.whole_digits
            bound = pa.scalar(limit, pa.decimal256(min(76, target.whole_digits + 1), 0))
            problems.append((pc.greater_equal(pc.abs(values), bound), "precision"))
        if kind.scale > target.scale:
            # One digit wider first, so rounding 9.999 up to 10.00 cannot overflow.
            wide = pc.cast(values, pa.decimal256(min(76, kind.precision + 1), kind.scale))
            rounded = pc.round(wide, target.scale)
            problems.append((pc.not_equal(rounded, wide), "scale"))
        return problems
    if pat.is_floating(kind):
        finite = pc.is_finite(values)
        fits = pc.and_(finite, pc.less(pc.abs(values), 10.0**target.whole_digits))
        # Only values that fit are rounded: rounding a huge float overflows in Arrow.
        held = pc.if_else(fits, values, pa.scalar(0.0, kind))
        problems = [
            (pc.and_(pc.is_inf(values), pc.is_valid(values)), "infinity"),
            (pc.and_(finite, pc.invert(fits)), "precision"),
            (pc.and_(fits, pc.not_equal(pc.round(held, target.scale), held)), "scale"),
        ]
        if not keeps_nan:
            problems.append((pc.is_nan(values), "nan"))
        return problems
    if pat.is_string(kind) or pat.is_large_string(kind):
        digits = pc.extract_regex(values, _DECIMAL_TEXT)
        whole = pc.utf8_length(pc.struct_field(digits, "whole"))
        part = pc.utf8_length(pc.struct_field(digits, "part"))
        word = pc.utf8_lower(pc.utf8_trim_whitespace(values))
        problems = [
            (pc.is_in(word, value_set=_INFINITY_WORDS), "infinity"),
            (pc.greater(whole, target.whole_digits), "precision"),
            (pc.greater(part, target.scale), "scale"),
        ]
        if not keeps_nan:
            problems.append((pc.equal(word, "nan"), "nan"))
        return problems
    return []


def _reason(problem: str, target: DecimalColumn, table: str, float_fix: bool) -> str:
    column = f"column {target.name!r} ({target.type_name}) of table {table}"
    if target.integer and problem in ("scale", "precision"):
        what = "digits after the point" if problem == "scale" else "too many digits"
        return (
            f"field {target.name!r} has {what}, which {column} would store changed or "
            "refuse; widen the column (ALTER its type to a numeric with enough digits) or "
            "CAST the value to a whole number in the model's SQL"
        )
    if problem == "scale":
        return (
            f"field {target.name!r} has more digits after the point than {column} holds "
            f"(scale {target.scale}), which would store it rounded; widen the column "
            f"(ALTER its type to a larger scale) or round the value in the model's SQL"
        )
    if problem == "precision":
        return (
            f"field {target.name!r} has more digits before the point than {column} holds "
            f"({target.whole_digits}); widen the column (ALTER its type to a larger "
            "precision) or change the value in the model's SQL"
        )
    word = "NaN" if problem == "nan" else "Infinity or -Infinity"
    fix = ", or make the column a float" if float_fix else ""
    return (
        f"field {target.name!r} holds {word}, which {column} cannot hold; turn it into "
        f"NULL or a number in the model's SQL{fix}"
    )
