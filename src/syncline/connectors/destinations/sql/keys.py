"""Text ids a key column would store in another form, found before staging.

A key column that is not text reads a text id into its own type: an INTEGER key stores
``'01'`` and ``' 1'`` as ``1``, a DATE key ``'2024-1-1'`` as ``2024-01-01``. Two model
rows with distinct ids would then land on one table row, the later overwriting the
earlier, and deleting one would delete the other. An id is therefore kept only in the
one form its column stores it as (``'1'``), and every other form is rejected with a
reason naming the column and the fix. SQLite converts only text that reads as a number,
into a column of numeric affinity; other text it stores as given.
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

_TEXT_TYPE = re.compile(r"char|text|string|clob|enum|set\s*\(|json|blob|binary|bytea", re.I)
"""Types that store text ids as given (MySQL's case-folding collations aside, which the
MySQL destination refuses on open)."""

_WHOLE = r"-?(?:0|[1-9][0-9]*)"

_MINUS_ZERO = r"^-[0.]+$"
_FORMS = [
    (re.compile(r"u?(?:tiny|small|medium|big|huge)?int(?:eger)?\b.*", re.I), f"^{_WHOLE}$"),
    (re.compile(r"date", re.I), r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
    (re.compile(r"uuid", re.I), r"^[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}$"),
    # Unbounded: the column compares 1.5 and 1.50 as one value.
    (re.compile(r"numeric|decimal", re.I), rf"^{_WHOLE}(?:\.[0-9]*[1-9])?$"),
]
"""Key column types, each with the one form of text id it stores as given."""

_BOUNDED = re.compile(r"(?:numeric|decimal)\s*\(\s*\d+\s*,\s*(\d+)\s*\).*", re.I)

_SQLITE_NUMBER = r"^\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*$"
"""Text SQLite turns into a number in a column of numeric affinity."""

_SQLITE_LARGEST = "9223372036854775807"
"""The largest integer SQLite stores as one; larger whole-number text becomes a float."""


def refuse_rewritten_keys(
    records: pa.Table, id_field: str, type_name: str, table: str, *, dialect: str
) -> dict[int, str]:
    """The rows of ``records`` whose text id column ``id_field`` of type ``type_name``
    would store in another form, by position, with the reason.

    Ids that are not text are left to the checks of values: a number or a day that
    fits its column exactly is one value there too.
    """
    if id_field not in records.column_names:
        return {}
    ids = records.column(id_field)
    if pat.is_dictionary(ids.type):
        ids = pc.cast(ids, ids.type.value_type)
    if not (pat.is_string(ids.type) or pat.is_large_string(ids.type)):
        return {}
    check = _sqlite_rewritten if dialect == "sqlite" else _rewritten
    rewritten = check(ids, type_name)
    if rewritten is None:
        return {}
    # Minus zero is zero in every numeric column, and an id 0 may be there already.
    rewritten = pc.or_(rewritten, pc.match_substring_regex(ids, _MINUS_ZERO))

    reason = (
        f"id {{!r}} would not be stored as given: key column {id_field!r} ({type_name}) of "
        f"table {table} keeps one form of each id, so this row could land on another id's "
        "row; widen the column (ALTER its type to text) or CAST the key to the column's "
        "type in the model's SQL"
    )
    rows = pc.indices_nonzero(pc.fill_null(rewritten, False)).to_pylist()
    return {row: reason.format(ids[row].as_py()) for row in rows}


def _rewritten(ids: Any, type_name: str) -> Any | None:
    """A mask of the ids the column stores in another form; None when it keeps every id."""
    kind = type_name.strip()
    if not kind or _TEXT_TYPE.search(kind):
        return None
    bounded = _BOUNDED.fullmatch(kind)
    if bounded is not None:
        scale = int(bounded[1])
        form = f"^{_WHOLE}\\.[0-9]{{{scale}}}$" if scale else f"^{_WHOLE}$"
        return pc.invert(pc.match_substring_regex(ids, form))
    for pattern, form in _FORMS:
        if pattern.fullmatch(kind):
            return pc.invert(pc.match_substring_regex(ids, form))
    # Timestamps, times, booleans, floats: many texts read as one value.
    return pc.is_valid(ids)


def _sqlite_rewritten(ids: Any, type_name: str) -> Any | None:
    """SQLite's rule: numeric affinity turns number text into a number, the rest stays."""
    kind = type_name.upper()
    if "INT" not in kind and (any(t in kind for t in ("CHAR", "CLOB", "TEXT", "BLOB")) or not kind):
        return None
    number = pc.match_substring_regex(ids, _SQLITE_NUMBER)
    if "INT" not in kind and any(t in kind for t in ("REAL", "FLOA", "DOUB")):
        return number  # a REAL column stores '1' as 1.0: no text is kept as given
    digits = pc.utf8_ltrim(ids, characters="-")
    whole = pc.and_(
        pc.match_substring_regex(ids, f"^{_WHOLE}$"),
        pc.or_(
            pc.less(pc.utf8_length(digits), len(_SQLITE_LARGEST)),
            pc.and_(
                pc.equal(pc.utf8_length(digits), len(_SQLITE_LARGEST)),
                pc.less_equal(digits, _SQLITE_LARGEST),
            ),
        ),
    )
    return pc.and_(number, pc.invert(whole))
