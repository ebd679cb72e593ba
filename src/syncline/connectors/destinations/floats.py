"""Floats as text, for every destination that writes them as text: files and text columns.

A float is spelled by its shortest text that reads back as the same float
(``0.12345678901234566``, ``1e-300``, ``1.2345678901234568e+17``; a four-byte float by
the shortest that reads back as that four-byte float, so ``0.1`` stays ``0.1``), and NaN
and the infinities as ``NaN``, ``Infinity`` and ``-Infinity``, which PostgreSQL, DuckDB
and Python all read back. A database's own conversion to text would not do: SQLite's
keeps 15 digits, and each database spells NaN and the infinities its own way.
"""

from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.compute as pc

NAN = "NaN"
INFINITY = "Infinity"
NEGATIVE_INFINITY = "-Infinity"


def float_word(value: float) -> str:
    """The word of one non-finite float: ``NaN``, ``Infinity`` or ``-Infinity``."""
    if math.isnan(value):
        return NAN
    return INFINITY if value > 0 else NEGATIVE_INFINITY


def float_text(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Each float as its shortest round-trip text or its word; NULL stays NULL."""
    text = column.cast(pa.string())
    finite = pc.fill_null(pc.is_finite(column), True)
    if pc.all(finite).as_py():
        return text
    words = pc.if_else(pc.greater(column, 0), INFINITY, NEGATIVE_INFINITY)
    words = pc.if_else(pc.is_nan(column), NAN, words)
    return pc.if_else(finite, text, words)
