"""Table names as users write them (``schema.table``) and identifier quoting per dialect."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TableName:
    """A table and the schema (or database) that holds it."""

    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


def parse_table(text: str, default_schema: str) -> TableName:
    """Split a sync's ``object`` into schema and table; the schema defaults when absent."""
    schema, dot, name = text.strip().partition(".")
    if not dot:
        return TableName(default_schema, schema)
    return TableName(schema, name)


def quote(name: str, dialect: str) -> str:
    """Quote one identifier for ``dialect`` so any spelling, keyword or case is safe."""
    if dialect == "mysql":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


def string_literal(text: str) -> str:
    """``text`` as an SQL string literal (quotes doubled), for statements shown to users."""
    return "'" + text.replace("'", "''") + "'"


def quote_table(table: TableName, dialect: str) -> str:
    """The schema-qualified, quoted name of ``table``."""
    return f"{quote(table.schema, dialect)}.{quote(table.name, dialect)}"
