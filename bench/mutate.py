"""Change the model between the two runs, and check afterwards that the copy equals the model.

The changes follow the issue: 1% of rows updated (one column each, NULL transitions
included), 0.5% deleted and 0.5% new keys inserted. Rows are picked by their rank in key order,
so every run at a given scale factor makes the same changes, and the three sets never overlap.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg
from psycopg import sql

logger = logging.getLogger(__name__)

COLUMNS = (
    "o_orderkey, o_custkey, o_orderstatus, o_totalprice, o_orderdate, "
    "o_orderpriority, o_clerk, o_shippriority, o_comment"
)

# Each changed row gets exactly one column changed, picked by its rank: text, decimal, a
# value becoming NULL (or back), a one-letter code and a date. Every case is a real change
# even when a row is picked again by a later round of changes.
UPDATE = """
UPDATE {schema}.orders AS o SET
    o_comment = CASE WHEN r.rn / 100 % 5 = 0 THEN o.o_comment || ' (changed)'
                     ELSE o.o_comment END,
    o_totalprice = CASE WHEN r.rn / 100 % 5 = 1 THEN o.o_totalprice + 0.01
                        ELSE o.o_totalprice END,
    o_clerk = CASE WHEN r.rn / 100 % 5 <> 2 THEN o.o_clerk
                   WHEN o.o_clerk IS NULL THEN 'Clerk#restored' END,
    o_orderstatus = CASE WHEN r.rn / 100 % 5 = 3
                         THEN CASE o.o_orderstatus WHEN 'F' THEN 'O' ELSE 'F' END
                         ELSE o.o_orderstatus END,
    o_orderdate = CASE WHEN r.rn / 100 % 5 = 4 THEN o.o_orderdate + 1
                       ELSE o.o_orderdate END
FROM bench_ranks AS r
WHERE r.o_orderkey = o.o_orderkey AND r.rn % 100 = 50
"""

DELETE = """
DELETE FROM {schema}.orders AS o USING bench_ranks AS r
WHERE r.o_orderkey = o.o_orderkey AND r.rn % 200 = 7
"""

# New keys lie above the largest one; their other values are copied from existing rows.
INSERT = """
INSERT INTO {schema}.orders ({columns})
SELECT r.max_key + r.rn, o.o_custkey, o.o_orderstatus, o.o_totalprice, o.o_orderdate,
       o.o_orderpriority, o.o_clerk, o.o_shippriority, 'new order ' || r.rn
FROM bench_ranks AS r JOIN {schema}.orders AS o ON o.o_orderkey = r.o_orderkey
WHERE r.rn % 200 = 13
"""

RANKS = """
CREATE TEMP TABLE bench_ranks AS
SELECT o_orderkey,
       row_number() OVER (ORDER BY o_orderkey) AS rn,
       max(o_orderkey) OVER () AS max_key
FROM {schema}.orders
"""


@dataclass(frozen=True)
class Mutation:
    """How many rows the mutation added, changed and removed."""

    added: int
    changed: int
    removed: int

    @property
    def total(self) -> int:
        """Rows the incremental run has to deliver."""
        return self.added + self.changed + self.removed


def mutate(dsn: str, schema: str) -> Mutation:
    """Update 1%, insert 0.5% and delete 0.5% of ``schema.orders`` in one transaction."""
    names = {"schema": sql.Identifier(schema), "columns": sql.SQL(COLUMNS)}
    with psycopg.connect(dsn) as conn:
        conn.execute(sql.SQL(RANKS).format(**names))
        changed = conn.execute(sql.SQL(UPDATE).format(**names)).rowcount
        added = conn.execute(sql.SQL(INSERT).format(**names)).rowcount
        removed = conn.execute(sql.SQL(DELETE).format(**names)).rowcount
        conn.execute(sql.SQL("ANALYZE {schema}.orders").format(**names))
        conn.commit()
    return Mutation(added=added, changed=changed, removed=removed)


def differences(dsn: str, model_schema: str, copy_schema: str) -> tuple[int, int]:
    """Rows of the model missing from the copy, and rows of the copy not in the model.

    The copy's columns are cast to the model's types, so a destination that chose other but
    equivalent types (``double`` for ``numeric``, say) is compared by value. ``EXCEPT ALL``
    also counts duplicates.
    """
    types = _column_types(dsn, model_schema)
    casted = sql.SQL(", ").join(
        sql.SQL("{}::{}").format(sql.Identifier(name), sql.SQL(kind)) for name, kind in types
    )
    plain = sql.SQL(", ").join(sql.Identifier(name) for name, _ in types)
    model = sql.SQL("SELECT {} FROM {}.orders").format(plain, sql.Identifier(model_schema))
    copy = sql.SQL("SELECT {} FROM {}.orders").format(casted, sql.Identifier(copy_schema))

    with psycopg.connect(dsn) as conn:
        missing = _count(conn, sql.SQL("{} EXCEPT ALL {}").format(model, copy))
        extra = _count(conn, sql.SQL("{} EXCEPT ALL {}").format(copy, model))
    return missing, extra


def _column_types(dsn: str, schema: str) -> list[tuple[str, str]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod)"
            " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname = 'orders' AND a.attnum > 0"
            " AND NOT a.attisdropped ORDER BY a.attnum",
            (schema,),
        ).fetchall()
    return [(str(name), str(kind)) for name, kind in rows]


def _count(conn: psycopg.Connection, query: sql.Composed) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM ({}) AS d").format(query)).fetchone()
    assert row is not None
    return int(row[0])
