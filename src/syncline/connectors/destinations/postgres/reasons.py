"""PostgreSQL's words for a refused row, completed with the field and the fix.

PostgreSQL names the type a value did not fit ("value too long for type character
varying(8)") or the constraint a row broke, not the column: see
:mod:`syncline.connectors.destinations.sql.reasons`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from syncline.connectors.destinations.sql import reasons

_TOO_LONG = re.compile(r"^value too long for type (.+)$")
_OUT_OF_RANGE = re.compile(r'^(?:value ".*" is out of range for type (\w+)|(\w+) out of range)$')
_UNIQUE = re.compile(r'^duplicate key value violates unique constraint "(.+)"$')

INTEGER_TYPES = ("smallint", "integer", "bigint")
"""PostgreSQL's integer types, narrowest first; ``numeric`` holds any integer."""

KEY_COLUMNS_SQL = """
SELECT a.attname
FROM pg_index i
JOIN pg_class k ON k.oid = i.indexrelid
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
WHERE i.indrelid = %s::regclass AND k.relname = %s
ORDER BY array_position(i.indkey, a.attnum)
"""
"""The columns of a table's unique index (a unique or primary key constraint's own index)."""


def explain(
    reason: str,
    row: Mapping[str, Any],
    columns: Mapping[str, str],
    table: str,
    *,
    id_field: str,
    key_columns: Callable[[str], list[str]],
) -> str:
    """``reason`` naming the field and the fix, when it is one PostgreSQL words vaguely.

    ``key_columns`` gives the columns of a unique key by name, from the database.
    """
    if match := _TOO_LONG.match(reason):
        found = reasons.too_long_columns(columns, row, match.group(1))
        if len(found) == 1:
            return reasons.too_long(reason, table, found[0], columns[found[0]])
        return reasons.unexplained(reason, table, columns)
    if match := _OUT_OF_RANGE.match(reason):
        found = reasons.out_of_range_columns(columns, row, match.group(1) or match.group(2))
        if len(found) == 1:
            kind = columns[found[0]]
            wider = reasons.wider_types(kind, INTEGER_TYPES, "numeric")
            return reasons.out_of_range(reason, table, found[0], kind, wider)
        return reasons.unexplained(reason, table, columns)
    if match := _UNIQUE.match(reason):
        key = match.group(1)
        return reasons.unique_taken(reason, table, key, key_columns(key), id_field)
    return reason
