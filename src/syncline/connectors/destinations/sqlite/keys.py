"""Refusing an SQLite id column that compares distinct ids as equal.

A key column collated ``NOCASE`` or ``RTRIM`` (or a unique index on it so collated) takes
``'abc'``, ``'ABC'`` or ``'abc '`` for one id: rows would overwrite each other's record,
and mirror mode then delete the record of a row still in the model. SQLite cannot change
a column's collation in place, so the refusal prints the rebuild of the table that drops
the key's collation, with the table's indexes and triggers made again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from syncline.connectors.destinations.sql.definitions import table_parts
from syncline.connectors.destinations.sql.identifiers import TableName, quote
from syncline.errors import TerminalError

Execute = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]

_COLLATE = re.compile(r"\s+COLLATE\s+(\"[^\"]*\"|'[^']*'|`[^`]*`|\[[^\]]*\]|\w+)", re.I)

_CONSTRAINT = re.compile(r"\s*(CONSTRAINT|PRIMARY\s+KEY|UNIQUE)\b", re.I)


def key_comparison_error(execute: Execute, table: TableName, id_field: str) -> TerminalError | None:
    """The error refusing ``table``'s id column, or None when it tells every id apart."""
    collation = _merging_collation(execute, table, id_field)
    if collation is None:
        return None
    return TerminalError(
        f"the id column {id_field!r} of table {table} compares by collation {collation}, "
        "which takes ids differing in case or trailing spaces for one, so distinct model "
        "rows would overwrite each other; SQLite cannot change a column's collation, so "
        f"rebuild the table without it, run: {_rebuild(execute, table, id_field)}",
        connector="sqlite",
        code="OBJECT_KEY_COLLATION",
    )


def _merging_collation(execute: Execute, table: TableName, id_field: str) -> str | None:
    """The collation of a unique index on the id column, or of the column, that merges
    ids; None when both are exact."""
    schema, name = quote(table.schema, "sqlite"), quote(table.name, "sqlite")
    for _, index, unique, *_ in execute(f"PRAGMA {schema}.index_list({name})", ()):
        info = execute(f"PRAGMA {schema}.index_xinfo({quote(index, 'sqlite')})", ())
        keys = [row for row in info if row[5]]
        if unique and len(keys) == 1 and keys[0][2] == id_field:
            if str(keys[0][4]).upper() != "BINARY":
                return str(keys[0][4])
    # A compound SELECT's column compares by the collation of its first SELECT's column,
    # the key's here, though the table gives it no row.
    column = quote(id_field, "sqlite")
    probe = (
        f"SELECT count(DISTINCT x) FROM (SELECT {column} AS x FROM {schema}.{name} "
        "WHERE 0 UNION ALL SELECT 'abc' UNION ALL SELECT ?)"
    )
    if int(execute(probe, ("ABC",))[0][0]) == 1:
        return "NOCASE"
    if int(execute(probe, ("abc ",))[0][0]) == 1:
        return "RTRIM"
    return None


def _rebuild(execute: Execute, table: TableName, id_field: str) -> str:
    """The statements that copy ``table`` into one whose id column has no collation."""
    schema, name = quote(table.schema, "sqlite"), quote(table.name, "sqlite")
    exact = quote(f"{table.name}_exact", "sqlite")
    rows = execute(
        f"SELECT type, sql FROM {schema}.sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
        "ORDER BY type = 'table' DESC, type = 'index' DESC",
        (table.name,),
    )
    created = str(rows[0][1])
    start, end = created.index("("), created.rindex(")")
    body = ", ".join(_exact(part, id_field) for part in table_parts(created[start + 1 : end]))
    again = [
        _COLLATE.sub("", str(sql)) if kind == "index" and _names(str(sql), id_field) else sql
        for kind, sql in rows[1:]
    ]
    statements = [
        "BEGIN",
        f"CREATE TABLE {schema}.{exact} ({body}){created[end + 1 :]}",
        f"INSERT INTO {schema}.{exact} SELECT * FROM {schema}.{name}",
        f"DROP TABLE {schema}.{name}",
        f"ALTER TABLE {schema}.{exact} RENAME TO {name}",
        *again,
        "COMMIT",
    ]
    return "; ".join(str(statement) for statement in statements) + ";"


def _exact(definition: str, id_field: str) -> str:
    """``definition`` without its collations when it defines or constrains the id."""
    if _CONSTRAINT.match(definition):
        return _COLLATE.sub("", definition) if _names(definition, id_field) else definition
    first = definition.split(None, 1)[0].strip("\"'`[]")
    return _COLLATE.sub("", definition) if first.lower() == id_field.lower() else definition


def _names(sql: str, id_field: str) -> bool:
    """Whether ``sql`` names the id column, quoted or not."""
    return re.search(
        rf"(?<![\w\"'`\[]){re.escape(id_field)}(?![\w\"'`\]])", sql, re.I
    ) is not None or (quote(id_field, "sqlite") in sql)
