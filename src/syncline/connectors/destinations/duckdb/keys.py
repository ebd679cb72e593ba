"""Refusing a DuckDB id column that compares distinct ids as equal.

A key column declared ``VARCHAR COLLATE NOCASE`` (or ``NOACCENT``, or any collation but
binary) keeps ``'abc'`` and ``'ABC'`` apart in its primary key or unique index, yet the
writes' joins compare ids by the collation: an upsert of one id would overwrite the
record of the other, and mirror mode delete it. DuckDB cannot change a column's
collation in place while an index depends on it (and an index of its own cannot carry a
collation), so the refusal prints the rebuild of the table without the key's collation,
its indexes made again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from syncline.connectors.destinations.sql.definitions import table_parts
from syncline.connectors.destinations.sql.identifiers import TableName, quote, string_literal
from syncline.errors import TerminalError

Execute = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]

_COLLATE = re.compile(r"\s+COLLATE\s+([\w.]+|\"[^\"]*\")", re.I)

_EXACT = frozenset({"binary", "c", "posix"})
"""Collations that compare ids byte by byte."""

_TABLE_SQL = (
    "SELECT sql FROM duckdb_tables() WHERE database_name = current_database() "
    "AND schema_name = ? AND table_name = ?"
)
_INDEX_SQL = (
    "SELECT sql FROM duckdb_indexes() WHERE database_name = current_database() "
    "AND schema_name = ? AND table_name = ? AND sql IS NOT NULL"
)


def key_comparison_error(execute: Execute, table: TableName, id_field: str) -> TerminalError | None:
    """The error refusing ``table``'s id column, or None when it tells every id apart."""
    rows = execute(_TABLE_SQL, (table.schema, table.name))
    if not rows or rows[0][0] is None:
        return None
    created = str(rows[0][0])
    start, end = created.index("("), created.rindex(")")
    parts = table_parts(created[start + 1 : end])
    collation = next(
        (found for part in parts if (found := _key_collation(part, id_field)) is not None), None
    )
    if collation is None:
        return None
    script = _rebuild(execute, table, parts, id_field)
    return TerminalError(
        f"the id column {id_field!r} of table {table} compares by collation {collation}, "
        "which takes ids differing in case or accents for one, so distinct model rows "
        "would overwrite each other; DuckDB cannot change the collation of an indexed "
        f"column, so rebuild the table without it, run: {script}",
        connector="duckdb",
        code="OBJECT_KEY_COLLATION",
    )


def _column_name(definition: str) -> str:
    """The column a definition defines, unquoted (``""`` doubled inside quotes)."""
    if definition.startswith('"'):
        closing = re.match(r'"((?:[^"]|"")*)"', definition)
        return closing.group(1).replace('""', '"') if closing else ""
    return definition.split(None, 1)[0] if definition else ""


def _key_collation(definition: str, id_field: str) -> str | None:
    """The non-binary collation of ``definition`` when it defines the id column."""
    if _column_name(definition).lower() != id_field.lower():
        return None
    found = _COLLATE.search(definition)
    if found is None:
        return None
    collation = found.group(1).strip('"')
    return None if collation.lower() in _EXACT else collation


def _rebuild(execute: Execute, table: TableName, parts: list[str], id_field: str) -> str:
    """The statements that copy ``table`` into one whose id column has no collation."""
    schema, name = quote(table.schema, "duckdb"), quote(table.name, "duckdb")
    exact = quote(f"{table.name}_exact", "duckdb")
    body = ", ".join(
        _COLLATE.sub("", part) if _key_collation(part, id_field) else part for part in parts
    )
    indexes = [str(row[0]).rstrip(";") for row in execute(_INDEX_SQL, (table.schema, table.name))]
    statements = [
        "BEGIN TRANSACTION",
        f"CREATE TABLE {schema}.{exact} ({body})",
        f"INSERT INTO {schema}.{exact} SELECT * FROM {schema}.{name}",
        f"DROP TABLE {schema}.{name}",
        f"ALTER TABLE {schema}.{exact} RENAME TO {name}",
        # An index's statement names its table without the schema.
        f"SET schema = {string_literal(table.schema)}",
        *indexes,
        "RESET schema",
        "COMMIT",
    ]
    return "; ".join(statements) + ";"
