"""Refusing a PostgreSQL id column that compares distinct ids as equal.

A ``citext`` column (or a domain over it) and a column with a nondeterministic collation
take ``'abc'`` and ``'ABC'`` for one id: their unique key merges the two model rows into
one record, and mirror mode then deletes the record of a row still in the model. Such a
column is refused when the table is opened, with the statement that makes it exact.
"""

from __future__ import annotations

from syncline.connectors.destinations.sql.identifiers import TableName, quote, quote_table
from syncline.errors import TerminalError

KEY_COMPARISON_SQL = """
SELECT format_type(a.atttypid, a.atttypmod),
       t.typname = 'citext' OR coalesce(b.typname = 'citext', false),
       coll.collname,
       to_jsonb(coll) ->> 'collisdeterministic'
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type b ON b.oid = t.typbasetype
LEFT JOIN pg_collation coll ON coll.oid = a.attcollation
WHERE n.nspname = %s AND c.relname = %s AND a.attname = %s
  AND a.attnum > 0 AND NOT a.attisdropped
"""
"""The id column's type, whether it is ``citext``, its collation and whether that is
deterministic (read through JSON: servers before 12 have no such column, and no
nondeterministic collations)."""


def key_comparison_error(
    rows: list[tuple[object, ...]], table: TableName, id_field: str
) -> TerminalError | None:
    """The error refusing ``table``'s id column, from :data:`KEY_COMPARISON_SQL`'s
    ``rows``; None when the column tells every distinct id apart."""
    if not rows:
        return None
    kind, case_insensitive, collation, deterministic = rows[0]
    column = quote(id_field, "postgres")
    alter = f"ALTER TABLE {quote_table(table, 'postgres')} ALTER COLUMN {column}"
    if case_insensitive:
        what = f"has type {kind}, which compares ids without regard to case"
        fix = f"{alter} TYPE text;"
    elif deterministic == "false":
        what = (
            f"has the nondeterministic collation {collation}, which may compare ids "
            "differing in case or accents as equal"
        )
        fix = f'{alter} TYPE {kind} COLLATE "default";'
    else:
        return None
    return TerminalError(
        f"the id column {id_field!r} of table {table} {what}, so distinct model rows "
        f"would overwrite each other; make it exact, run: {fix}",
        connector="postgres",
        code="OBJECT_KEY_COLLATION",
    )
