"""Refusing a PostgreSQL id column that compares distinct ids as equal.

A ``citext`` column (or a domain over it) and a column with a nondeterministic collation
take ``'abc'`` and ``'ABC'`` for one id: their unique key merges the two model rows into
one record, and mirror mode then deletes the record of a row still in the model. Such a
column is refused when the table is opened, with the statement that makes it exact; so is
a unique index that compares a plain column's ids under a nondeterministic collation, with
the statements that build it again without one.
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


INDEX_COLLATION_SQL = """
SELECT ni.nspname, ic.relname, coll.collname
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_namespace ni ON ni.oid = ic.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid
CROSS JOIN LATERAL generate_subscripts(i.indkey::int2[], 1) AS k(pos)
JOIN pg_collation coll ON coll.oid = (i.indcollation::oid[])[k.pos]
WHERE n.nspname = %s AND c.relname = %s AND a.attname = %s
  AND a.attnum > 0 AND NOT a.attisdropped AND i.indisunique
  AND (i.indkey::int2[])[k.pos] = a.attnum
  AND to_jsonb(coll) ->> 'collisdeterministic' = 'false'
ORDER BY ic.relname
"""
"""The unique indexes keying the id column under a nondeterministic collation: the index's
schema and name and the collation (servers before 12 have none such, see above)."""


def index_collation_error(
    rows: list[tuple[object, ...]], table: TableName, id_field: str
) -> TerminalError | None:
    """The error refusing ``table``'s unique indexes from :data:`INDEX_COLLATION_SQL`'s
    ``rows``, which merge ids the column itself tells apart; None when there is none."""
    if not rows:
        return None
    column = quote(id_field, "postgres")
    target = quote_table(table, "postgres")
    fixes = []
    for schema, index, _collation in rows:
        name = quote_table(TableName(schema=str(schema), name=str(index)), "postgres")
        fixes.append(f"DROP INDEX {name}; CREATE UNIQUE INDEX ON {target} ({column});")
    collations = ", ".join(sorted({str(collation) for _, _, collation in rows}))
    return TerminalError(
        f"the id column {id_field!r} of table {table} has a unique index with the "
        f"nondeterministic collation {collations}, which may take ids differing in case or "
        "accents for one, so distinct model rows would overwrite each other; index the "
        f"column exactly, run: {' '.join(fixes)}",
        connector="postgres",
        code="OBJECT_KEY_COLLATION",
    )


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
