"""Floats bound for a text column, sent as their text rather than converted by the database.

A database turns a float into text its own way when the column is text: SQLite keeps 15
significant digits (``0.12345678901234566`` is stored ``0.123456789012346``, a changed
value counted as sent), PostgreSQL and DuckDB spell NaN and the infinities ``nan``,
``inf`` and ``-inf``, and MySQL refuses them even though text holds them. Such a float
is written here as the text the file destinations write (see
:mod:`syncline.connectors.destinations.floats`), column-wise, before any check or staging,
so every table stores the same exact text.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.types as pat

from syncline.connectors.destinations.floats import float_text

_TEXT_TYPE = re.compile(r"char|text|clob|string", re.I)
"""Column types that hold text as given: PostgreSQL's ``text``, ``character varying(n)``
and ``character(n)``, MySQL's ``varchar(n)`` and ``*text``, DuckDB's ``VARCHAR``."""


def is_text_column(type_name: str, dialect: str) -> bool:
    """Whether a column of type ``type_name`` holds text as given.

    In SQLite a type naming ``INT`` has integer affinity whatever else it names; an array
    of text (``text[]``, ``VARCHAR[]``) is no text column.
    """
    if dialect == "sqlite" and "INT" in type_name.upper():
        return False
    if "[" in type_name:
        return False
    return _TEXT_TYPE.search(type_name) is not None


def floats_as_text(records: pa.Table, columns: dict[str, str], dialect: str) -> pa.Table:
    """``records`` with each float field bound for a text column (by ``columns``, the
    table's column types by name) turned into its text; other fields as they were."""
    for index, field in enumerate(records.schema):
        kind = field.type.value_type if pat.is_dictionary(field.type) else field.type
        if not pat.is_floating(kind) or not is_text_column(columns.get(field.name, ""), dialect):
            continue
        values = records.column(index).cast(kind)
        text = pa.field(field.name, pa.string(), field.nullable, field.metadata)
        records = records.set_column(index, text, float_text(values))
    return records
