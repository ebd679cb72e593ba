"""Canonical forms of model values, so representation noise is never a change.

Every referenced column is turned into one canonical string per row before the row's
fingerprint is taken: integers and integral floats or decimals print alike (``1``,
``1.0`` and ``1.000`` are ``1``), other numbers print in their shortest exact form
(a single-precision float as the double of the same value: ``0.1f`` is
``0.10000000149011612``),
timestamps become UTC microseconds since the epoch (``infinity`` and ``-infinity``
stay those words; nanoseconds that are not whole microseconds follow the point:
``1704067200123456.789``), booleans ``true``/``false``, and JSON (text tagged
``syncline.logical=json``, Arrow's JSON type, or nested Arrow types) is re-serialised
with sorted keys and no whitespace. Decimal text (tagged ``syncline.logical=decimal``:
numbers wider than any Arrow decimal) is a JSON number, so it takes the same path and
prints exactly as a ``decimal128`` would (``10.50`` is ``10.5``, ``0.00`` is ``0``).
NULL stays distinct from ``''``.

Scalar columns are canonicalised by DuckDB SQL expressions built here (vectorised);
JSON and decimal text columns go through Arrow compute, and Python for what is not a
plain number, one batch at a time.

The fingerprint is the first 8 bytes (little-endian) of the ``md5`` of a length-prefixed
encoding of the canonical strings: fixed by definition, unlike DuckDB's ``hash()``.

Building that encoding and its md5 costs more than anything else the planner does per
row, so each snapshot entry also keeps a *prefilter*: DuckDB's 64-bit ``hash()`` of the
row's values (see :func:`prefilter_sql`). A row whose prefilter equals the stored one
takes the stored fingerprint without computing it. DuckDB's hash is not fixed by
definition, so the snapshot records the DuckDB release that made it and forgets every
prefilter when another release opens it.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import logging
import math
import re
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from syncline.connectors.sources.base import JSON_LOGICAL, LOGICAL_TYPE_KEY, is_decimal_field

logger = logging.getLogger(__name__)

FINGERPRINT_SCHEME = "md5-upper64-lp-v2"
"""Name of the fingerprint function and encoding; stored with every snapshot."""


_HUGEINT_LIMIT = "1e38"

_LOW_64_BITS = "CAST(18446744073709551615 AS UHUGEINT)"

_PLAIN_NUMBER = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$"
"""Numbers that JSON and decimal text spell alike, canonicalised without Python."""


def quote_identifier(name: str) -> str:
    """Quote ``name`` as a DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


def is_json_canonical(field: pa.Field) -> bool:
    """True when a column's canonical form is JSON's: JSON or decimal text, nested types.

    Not the same question as :func:`syncline.connectors.sources.base.is_json_field`,
    which asks whether a text column holds JSON documents.

    Decimal text is included because every decimal is a JSON number, whose canonical
    form is the decimal's (see :func:`canonical_json_array`).
    """
    metadata = field.metadata or {}
    if metadata.get(LOGICAL_TYPE_KEY) == JSON_LOGICAL or is_decimal_field(field):
        return True
    kind = field.type
    if isinstance(kind, pa.ExtensionType):
        return isinstance(kind, pa.JsonType)
    return bool(
        pa.types.is_struct(kind)
        or pa.types.is_list(kind)
        or pa.types.is_large_list(kind)
        or pa.types.is_fixed_size_list(kind)
        or pa.types.is_list_view(kind)
        or pa.types.is_large_list_view(kind)
        or pa.types.is_map(kind)
    )


def hashes_exactly(arrow_type: pa.DataType) -> bool:
    """True when DuckDB's ``hash()`` of a column's raw values may stand for its canonical form.

    That holds when two values DuckDB hashes alike by design also print alike: not for
    floats (``-0.0`` and ``0.0``, every NaN), intervals (one month and 30 days) or nested
    and dictionary types, whose columns are hashed through their canonical strings. Two
    decimals of different scales (``1.50`` and ``15.0``) hash alike too; the prefilter
    names every column's type, so a change of type changes every prefilter.
    """
    return bool(
        pa.types.is_integer(arrow_type)
        or pa.types.is_boolean(arrow_type)
        or pa.types.is_decimal(arrow_type)
        or pa.types.is_date(arrow_type)
        or pa.types.is_timestamp(arrow_type)
        or pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_binary(arrow_type)
        or pa.types.is_large_binary(arrow_type)
    )


def prefilter_sql(values: Sequence[str], signature: str) -> str:
    """A DuckDB expression giving a row's 64-bit prefilter: ``hash()`` of ``values``.

    ``values`` are SQL expressions, one per compared column, in a fixed order: the raw
    column where :func:`hashes_exactly` allows it, its canonical string otherwise.
    ``signature`` names everything else the fingerprint depends on (scheme, salt, the
    columns' names and types), so that a change to any of them changes the prefilter.

    Why equal prefilters may stand for equal fingerprints: DuckDB hashes each value to
    64 bits and folds the column hashes left to right as ``(acc * odd) ^ next``, which
    is one-to-one in each column's hash. A change to one column therefore changes the
    prefilter unless that column's old and new hashes collide: for 64-bit integers,
    dates and timestamps DuckDB's mixer is itself one-to-one, so only a NULL turning
    into the one value that hashes like NULL goes unseen; for text the chance is about
    2**-64 per changed row. At 15,000 changed rows a run, a run every minute for a
    century (5e7 runs), the expected number of missed changes is about 4e-8. The
    64-bit md5 fingerprint runs a risk of the same size, which the prefilter at most
    doubles.
    """
    literal = "'" + signature.replace("'", "''") + "'"
    return f"hash({', '.join([literal, *values])})"


def canonical_sql(column: str, arrow_type: pa.DataType) -> str:
    """A DuckDB expression giving the canonical string of ``column`` (NULL stays NULL)."""
    col = quote_identifier(column)
    kind = arrow_type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type

    if pa.types.is_null(kind):
        return "CAST(NULL AS VARCHAR)"
    if pa.types.is_boolean(kind):
        return f"CASE WHEN {col} THEN 'true' WHEN NOT {col} THEN 'false' END"
    if pa.types.is_integer(kind):
        return f"CAST({col} AS VARCHAR)"
    if pa.types.is_floating(kind):
        if kind.bit_width < 64:
            # A narrower float prints as the double of the same value, so that a column
            # widened to double precision (or narrowed back exactly) is no change.
            col = f"CAST({col} AS DOUBLE)"
        # Integral floats print as integers so that 1.0 matches 1 and 1.000.
        return (
            f"CASE WHEN isfinite({col}) AND {col} = trunc({col}) "
            f"AND abs({col}) < {_HUGEINT_LIMIT} "
            f"THEN CAST(CAST({col} AS HUGEINT) AS VARCHAR) ELSE CAST({col} AS VARCHAR) END"
        )
    if pa.types.is_decimal(kind):
        if kind.scale <= 0:
            return f"CAST({col} AS VARCHAR)"
        return (
            f"CASE WHEN {col} = 0 THEN '0' ELSE rtrim(rtrim(CAST({col} AS VARCHAR), '0'), '.') END"
        )
    if pa.types.is_timestamp(kind):
        # epoch_us() of infinity is NULL, which would make it equal to a NULL.
        micros = f"coalesce(CAST(epoch_us({col}) AS VARCHAR), CAST({col} AS VARCHAR))"
        if kind.unit != "ns":
            return micros
        return (
            f"CASE WHEN NOT isfinite({col}) OR epoch_ns({col}) % 1000 = 0 THEN {micros} "
            f"ELSE {_fractional_micros(f'epoch_ns({col})')} END"
        )
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return f"hex({col})"
    if pa.types.is_fixed_size_binary(kind) or pa.types.is_binary_view(kind):
        return f"hex({col})"
    return f"CAST({col} AS VARCHAR)"


def _fractional_micros(nanos: str) -> str:
    """Microseconds since the epoch with the nanoseconds after the point, for ``nanos``
    (an integer count of nanoseconds) that is not a whole number of microseconds.

    A whole one prints as the microseconds alone, so that one instant prints alike at
    either precision while a change of one nanosecond still changes the text.
    """
    exact = f"CAST(CAST({nanos} AS DECIMAL(38, 0)) * 0.001 AS VARCHAR)"
    return f"rtrim({exact}, '0')"


def encoded_sql(expression: str) -> str:
    """Length-prefix a canonical string so that NULL, '' and 'NULL' all encode apart.

    ``V<length>:<text>`` for a value, ``N`` for NULL.
    """
    return f"concat({', '.join(encoded_parts(expression))})"


def encoded_parts(expression: str) -> list[str]:
    """The pieces whose ``concat`` is :func:`encoded_sql`: four, so that one ``concat``
    can build a whole row's encoding without an intermediate string per column.

    ``concat`` skips NULL pieces and prints the length in decimal digits, as a cast to
    VARCHAR would: a value gives ``V``, its length, ``:`` and itself; NULL gives ``N``.
    """
    return [
        f"CASE WHEN {expression} IS NULL THEN 'N' ELSE 'V' END",
        f"length({expression})",
        f"CASE WHEN {expression} IS NOT NULL THEN ':' END",
        expression,
    ]


def fingerprint_sql(canonical_columns: Sequence[str], salt: str = "") -> str:
    """A DuckDB expression giving the 64-bit md5 fingerprint over canonical columns.

    ``salt`` (the sync's mappings) is hashed along, so that a changed mapping makes
    every row a change and the destination receives the newly mapped fields.
    """
    pieces = ["'" + encode_literal(salt).replace("'", "''") + "'"]
    for name in canonical_columns:
        pieces += encoded_parts(quote_identifier(name))
    # The low 64 bits of md5_number (the digest read little-endian) are exactly what
    # md5_number_upper returns, at half its cost in DuckDB 1.5.
    return f"CAST(md5_number(concat({', '.join(pieces)})) & {_LOW_64_BITS} AS UBIGINT)"


def encode_literal(text: str) -> str:
    """The length-prefixed encoding of a constant string, as :func:`encoded_sql` makes."""
    return f"V{len(text)}:{text}"


def canonical_json_text(text: str | None) -> str | None:
    """Re-serialise JSON text with sorted keys and no whitespace; invalid JSON is kept."""
    if text is None:
        return None
    try:
        value = json.loads(text, parse_float=decimal.Decimal)
    except ValueError:
        return text
    except RecursionError:
        # Python's parser recurses once per level; PostgreSQL's JSONB nests far deeper.
        try:
            value = _parse_deep(text)
        except ValueError:
            return text
    return _dumps(value)


_JSON_TOKEN = re.compile(
    r'\s*(?:("(?:[^"\\]|\\.)*")|(-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?)'
    r"|(true|false|null)|([\[\]{},:]))"
)
"""One JSON token after optional whitespace: a string, a number (its fraction and
exponent apart), a literal, or punctuation."""

_LITERALS = {"true": True, "false": False, "null": None}


def _parse_deep(text: str) -> Any:
    """JSON text parsed as ``json.loads(text, parse_float=Decimal)`` parses it, with a stack
    of its own rather than recursion, so that any depth parses.

    Slower than ``json.loads``: only documents too deep for it come here.

    Raises:
        ValueError: ``text`` is not one JSON document.
    """
    containers: list[list[Any] | dict[str, Any]] = []
    keys: list[str] = []
    # What may come next: a value (or, first in an array, its end), a key (or, first in
    # an object, its end), a colon, a comma or an end, or nothing at all.
    state = "value"
    result: Any = None
    position = 0
    while (match := _JSON_TOKEN.match(text, position)) is not None:
        position = match.end()
        string, number, fraction, exponent, literal, mark = match.groups()
        closes = mark in ("]", "}") and state in ("first", "after", "first_key")
        if closes and containers and isinstance(containers[-1], list) == (mark == "]"):
            value: Any = containers.pop()
            if isinstance(value, dict):
                keys.pop()
        elif state in ("key", "first_key") and string is not None:
            keys[-1] = json.loads(string)
            state = "colon"
            continue
        elif state == "colon" and mark == ":":
            state = "value"
            continue
        elif state == "after" and mark == ",":
            state = "value" if isinstance(containers[-1], list) else "key"
            continue
        elif state not in ("value", "first") or mark in ("]", "}", ",", ":"):
            raise ValueError("not a JSON document")
        elif mark == "[":
            containers.append([])
            state = "first"
            continue
        elif mark == "{":
            containers.append({})
            keys.append("")
            state = "first_key"
            continue
        elif string is not None:
            value = json.loads(string)
        elif number is not None:
            exact = fraction is not None or exponent is not None
            value = decimal.Decimal(number) if exact else int(number)
        else:
            value = _LITERALS[literal]

        if not containers:
            result, state = value, "end"
            break
        container = containers[-1]
        if isinstance(container, list):
            container.append(value)
        else:
            container[keys[-1]] = value
        state = "after"

    if state != "end" or text[position:].strip():
        raise ValueError("not a JSON document")
    return result


def canonical_json_value(value: Any) -> str | None:
    """Serialise a nested Python value (from an Arrow nested type) canonically."""
    if value is None:
        return None
    return _dumps(value)


def canonical_json_array(array: pa.Array | pa.ChunkedArray, arrow_type: pa.DataType) -> pa.Array:
    """Canonical JSON strings for a whole column of one batch."""
    if isinstance(arrow_type, pa.ExtensionType):
        array = array.storage if isinstance(array, pa.ExtensionArray) else array
        arrow_type = arrow_type.storage_type
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return _canonical_text_array(array)
    if pa.types.is_string_view(arrow_type) or pa.types.is_dictionary(arrow_type):
        return _canonical_text_array(array.cast(pa.string()))
    values = array.to_pylist()
    if _holds_decimal_text(arrow_type):
        values = [None if v is None else [_decimal_text_value(e) for e in v] for v in values]
    return pa.array([canonical_json_value(v) for v in values], pa.string())


def _holds_decimal_text(arrow_type: pa.DataType) -> bool:
    """Whether ``arrow_type`` is a list of decimal text (an array of unbounded NUMERIC)."""
    is_list = pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type)
    return is_list and is_decimal_field(arrow_type.value_field)


def _decimal_text_value(text: str | None) -> decimal.Decimal | str | None:
    """Decimal text as the number it spells, so that ``1.50`` and ``1.5`` print alike;
    ``nan`` and the infinities stay text, as JSON has no such numbers."""
    if text is None:
        return None
    number = decimal.Decimal(text)
    return number if number.is_finite() else text


def _canonical_text_array(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Canonical JSON of text values: plain numbers column-wise, the rest one by one."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    plain = pc.fill_null(pc.match_substring_regex(array, _PLAIN_NUMBER), False)

    # Drop trailing fractional zeros, then a bare point, then the sign of a zero.
    numbers = pc.replace_substring_regex(array, r"(\.[0-9]*?)0+$", r"\1")
    numbers = pc.replace_substring_regex(numbers, r"\.$", "")
    numbers = pc.replace_substring_regex(numbers, r"^-0$", "0")
    if pc.all(pc.or_kleene(plain, pc.is_null(array))).as_py() is not False:
        return numbers.cast(pa.string())

    others = pa.array(
        [
            None if is_plain else canonical_json_text(value)
            for value, is_plain in zip(array.to_pylist(), plain.to_pylist(), strict=True)
        ],
        pa.string(),
    )
    return pc.if_else(plain, numbers, others).cast(pa.string())


class _Raw(str):
    """Text :func:`_dumps` emits as it is: punctuation, or a value already serialised."""


def _dumps(value: Any) -> str:
    """Serialise with sorted keys, no whitespace and canonical numbers.

    Nested values are walked with a stack of their own rather than by recursion, so that
    a document nested hundreds of levels deep serialises like any other.
    """
    out: list[str] = []
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        if type(item) is _Raw:
            out.append(item)
            continue
        if isinstance(item, list | tuple) and item:
            if all(isinstance(pair, tuple) and len(pair) == 2 for pair in item):
                # An Arrow map arrives as a list of (key, value) pairs.
                item = {str(k): v for k, v in item}
        if isinstance(item, dict):
            pieces: list[Any] = [_Raw("{")]
            for index, (key, member) in enumerate(sorted((str(k), v) for k, v in item.items())):
                pieces += [_Raw("," if index else ""), _Raw(_scalar(key) + ":"), member]
            pieces.append(_Raw("}"))
        elif isinstance(item, list | tuple):
            pieces = [_Raw("[")]
            for index, member in enumerate(item):
                pieces += [_Raw("," if index else ""), member]
            pieces.append(_Raw("]"))
        else:
            out.append(_scalar(item))
            continue
        pending.extend(reversed(pieces))
    return "".join(out)


def _scalar(value: Any) -> str:
    """A value that is no list, tuple or dict, serialised as :func:`_dumps` does."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | decimal.Decimal):
        return _canonical_number(value)
    if isinstance(value, dt.datetime):
        return str(_canonical_timestamp(value))
    if isinstance(value, dt.date | dt.time):
        return _scalar(value.isoformat())
    if isinstance(value, bytes):
        return _scalar(base64.b64encode(value).decode("ascii"))
    return _scalar(str(value))


def _canonical_number(value: float | decimal.Decimal) -> str:
    """Integral numbers print as integers; others in their shortest exact decimal form."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return json.dumps(str(value))
        value = decimal.Decimal(repr(value))
    if not value.is_finite():
        return json.dumps(str(value))
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _canonical_timestamp(value: dt.datetime) -> int:
    """UTC microseconds since the epoch; a naive value is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
