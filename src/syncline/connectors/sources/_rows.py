"""Arrow record batches from DB-API row chunks, built column by column.

Drivers without an Arrow path (sqlite3, PyMySQL, most SQLAlchemy dialects) hand out
rows as tuples. This module turns a chunk of those rows into one record batch of a
fixed schema, and infers a column's type from its values where the driver does not
declare one.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, InvalidOperation
from typing import Any

import pyarrow as pa

from syncline.connectors.sources.base import Column, decimal_field, json_field
from syncline.errors import TerminalError

logger = logging.getLogger(__name__)

Converter = Callable[[Any], Any]
"""Turns one non-null driver value into a value that ``pyarrow.array`` accepts."""

Row = Sequence[Any]

INFER_ROWS = 1_000
"""Rows looked at to infer the type of a column whose type the driver does not declare."""


class UnfitValue(ValueError):
    """A converter's refusal of a value its column's type cannot hold exactly.

    The message says why and how to fix it, and never quotes the value: it is row data.
    """


@dataclass(frozen=True)
class ColumnPlan:
    """How one result column becomes an Arrow column: its field and a value converter."""

    field: pa.Field
    source_type: str
    """The source's own type name, shown by ``describe``."""
    convert: Converter | None = None

    def column(self) -> Column:
        """The column as ``Source.describe`` reports it."""
        return Column.from_field(self.field, self.source_type)


def text(value: Any) -> str:
    """Any driver value as text; bytes are read as UTF-8, parsed JSON is serialised.

    Bytes that are not UTF-8 are refused: decoding them with replacement characters
    would change the value without anyone knowing.
    """
    if isinstance(value, bytes | bytearray | memoryview):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise UnfitValue(
                "it is bytes that are not UTF-8 text, and text is never decoded with "
                "replacement characters; CAST the column to a binary type in the model's "
                "SQL, or to hex text"
            ) from None
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value if isinstance(value, str) else str(value)


def json_text(value: Any) -> str:
    """A JSON document as text: strings pass through, parsed documents are serialised."""
    if isinstance(value, str | bytes | bytearray | memoryview | dict | list):
        return text(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def decimal_text(value: Any) -> str:
    """A decimal as plain positional text (``100000``, never ``1E+5``), exact digits kept."""
    if isinstance(value, Decimal):
        return format(value, "f")
    return text(value)


def to_utc(value: dt.datetime) -> dt.datetime:
    """An aware datetime in UTC; a naive one is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def decimal_plan(name: str, source_type: str, precision: int, scale: int) -> ColumnPlan:
    """A DECIMAL(precision, scale) column: exact ``decimal128``, or decimal text beyond 38
    digits. A value with more than ``scale`` digits after the point is refused, not rounded.
    """
    if 0 < precision <= 38 and 0 <= scale <= precision:
        quantum = Decimal(1).scaleb(-scale)
        # The default context holds 28 digits; quantizing a wider value would fail. Inexact
        # is raised rather than rounding away a digit the source holds.
        exact = Context(prec=precision + 1, traps=[InvalidOperation, Inexact])

        def convert(value: Any) -> Decimal:
            number = value if isinstance(value, Decimal) else Decimal(str(value))
            try:
                return number.quantize(quantum, context=exact)
            except Inexact:
                raise UnfitValue(
                    f"it has more than {scale} digits after the point, and decimals are "
                    "never rounded; round it in the model's SQL or declare a wider scale"
                ) from None

        return ColumnPlan(pa.field(name, pa.decimal128(precision, scale)), source_type, convert)

    return ColumnPlan(decimal_field(name), source_type, decimal_text)


def infer_plan(
    name: str,
    values: Sequence[Any],
    source_type: str = "",
    *,
    decimal: tuple[int, int] | None = None,
) -> ColumnPlan:
    """The plan of a column whose type is unknown, from the Python types of ``values``.

    A column without any non-null value, or mixing kinds that no one Arrow type holds,
    becomes text. Decimals become exact ``decimal128`` when the driver reports the
    column's ``decimal`` precision and scale, and decimal text otherwise.
    """
    kinds = {type(value) for value in values if value is not None}
    label = source_type or "undeclared"

    if kinds == {Decimal} and decimal is not None:
        return decimal_plan(name, label, *decimal)

    if not kinds:
        return ColumnPlan(pa.field(name, pa.string()), label, text)

    if kinds == {Decimal}:
        return ColumnPlan(decimal_field(name), label, decimal_text)

    if kinds <= {bool}:
        return ColumnPlan(pa.field(name, pa.bool_()), label)

    if kinds <= {int}:
        return ColumnPlan(pa.field(name, pa.int64()), label)

    if kinds <= {int, float}:
        return ColumnPlan(pa.field(name, pa.float64()), label, float)

    if kinds <= {dt.datetime}:
        aware = any(value.tzinfo is not None for value in values if value is not None)
        if aware:
            return ColumnPlan(pa.field(name, pa.timestamp("us", tz="UTC")), label, to_utc)
        return ColumnPlan(pa.field(name, pa.timestamp("us")), label)

    simple = {
        str: (pa.string(), None),
        bytes: (pa.binary(), None),
        bytearray: (pa.binary(), bytes),
        memoryview: (pa.binary(), bytes),
        dt.date: (pa.date32(), None),
        dt.time: (pa.time64("us"), None),
        dt.timedelta: (pa.duration("us"), None),
        uuid.UUID: (pa.string(), str),
    }
    if len(kinds) == 1 and (kind := next(iter(kinds))) in simple:
        arrow_type, convert = simple[kind]
        return ColumnPlan(pa.field(name, arrow_type), label, convert)

    if kinds <= {dict, list}:
        return ColumnPlan(json_field(name), label, json_text)

    return ColumnPlan(pa.field(name, pa.string()), label, text)


def require_columns(names: Sequence[str], connector: str) -> None:
    """Fail when a model's statement returns no result set, which no sync can use."""
    if not names:
        raise TerminalError(
            "the model's SQL returns no columns; write a SELECT query", connector=connector
        )


def build_batch(
    plans: Sequence[ColumnPlan], schema: pa.Schema, rows: Sequence[Row]
) -> pa.RecordBatch:
    """One record batch of ``schema`` from ``rows``, converted column by column."""
    arrays = []

    for index, plan in enumerate(plans):
        values: Sequence[Any] = [row[index] for row in rows]
        try:
            if plan.convert is not None:
                convert = plan.convert
                values = [None if value is None else convert(value) for value in values]
            arrays.append(pa.array(values, type=plan.field.type))
        except UnfitValue as exc:
            raise TerminalError(
                f"column {plan.field.name!r} ({plan.source_type or 'undeclared type'}) holds "
                f"a value that does not fit Arrow type {plan.field.type}: {exc}"
            ) from None
        except (pa.ArrowException, TypeError, ValueError, ArithmeticError) as exc:
            # The driver's text may quote the value; a row value never goes into errors.
            raise TerminalError(
                f"column {plan.field.name!r} ({plan.source_type or 'undeclared type'}) holds "
                f"a value that does not fit Arrow type {plan.field.type} "
                f"({type(exc).__name__}); CAST the column in the model's SQL"
            ) from None

    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def batches_from_rows(
    fetchmany: Callable[[int], Sequence[Row]],
    plans: Sequence[ColumnPlan],
    batch_rows: int,
    head: Sequence[Row] = (),
) -> Iterator[pa.RecordBatch]:
    """Record batches of exactly ``batch_rows`` rows (the last one shorter) from a cursor.

    ``head`` holds rows already fetched, e.g. to infer types; they come first. At most
    one chunk of rows is held in Python at a time.
    """
    schema = pa.schema([plan.field for plan in plans])
    pending: list[Row] = list(head)
    exhausted = False

    while pending or not exhausted:
        while len(pending) < batch_rows and not exhausted:
            chunk = fetchmany(batch_rows - len(pending))
            if chunk:
                pending.extend(chunk)
            else:
                exhausted = True

        if pending:
            yield build_batch(plans, schema, pending[:batch_rows])
            del pending[:batch_rows]
