"""Doubles a single-precision float column would round, found before staging.

PostgreSQL's ``real``, MySQL's ``FLOAT`` and DuckDB's ``FLOAT`` hold four-byte floats:
a double sent to one is stored as the nearest of those, silently, and counted as sent.
``0.1`` becomes ``0.10000000149011612`` and ``16777217`` becomes ``16777216``, while
``0.5`` or ``3.0`` are kept exactly. Doubles that do not come back unchanged from single
precision are found here, column-wise, and the row is rejected with a reason naming the
column and the fix. Nothing is computed for a column that holds doubles.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

_SINGLE_TYPE = re.compile(r"(?:real|float4?)(?: unsigned)?(?: zerofill)?", re.I)
"""The single-precision column types as each database describes them (PostgreSQL's
``real``, MySQL's ``float``, DuckDB's ``FLOAT``); SQLite's REAL holds eight bytes."""

_DOUBLE_TYPE = {"postgres": "double precision", "mysql": "DOUBLE", "duckdb": "DOUBLE"}
"""The double-precision type offered as the fix, per dialect."""


def refuse_rounded_doubles(
    records: pa.Table, columns: dict[str, str], table: str, *, dialect: str
) -> dict[int, str]:
    """The rows of ``records`` holding a double their single-precision column would
    round, by position, with the reason.

    ``columns`` are the table's column types by name. NaN and the infinities are
    single-precision values too, and left to the checks of non-finite floats.
    """
    reasons: dict[int, str] = {}
    for name, values in zip(records.column_names, records.columns, strict=True):
        kind = columns.get(name, "")
        if not pat.is_float64(values.type) or not _SINGLE_TYPE.fullmatch(kind.strip()):
            continue
        # An unsafe cast rounds to the nearest single (a huge double to infinity).
        single = pc.cast(pc.cast(values, pa.float32(), safe=False), pa.float64())
        mask = pc.and_(pc.is_finite(values), pc.not_equal(single, values))
        reason = (
            f"field {name!r} holds a number that column {name!r} ({kind}) of table {table}, "
            "a single-precision float, would store rounded; widen the column (ALTER its "
            f"type to {_DOUBLE_TYPE.get(dialect, 'DOUBLE')}) or round the value in the "
            "model's SQL"
        )
        for row in pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist():
            reasons.setdefault(row, reason)
    return reasons
