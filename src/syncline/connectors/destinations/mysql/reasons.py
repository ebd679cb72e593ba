"""MariaDB/MySQL's words for a refused row, completed with the field and the fix.

The server names the column of a value out of range or too long, but not the fix; a
unique key taken by another record is explained in
:mod:`syncline.connectors.destinations.mysql.keys`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from syncline.connectors.destinations.sql import reasons

_OUT_OF_RANGE = re.compile(r"^Out of range value for column '([^']+)'")
_TOO_LONG = re.compile(r"^Data too long for column '([^']+)'")

INTEGER_TYPES = ("tinyint", "smallint", "mediumint", "int", "bigint")
"""MariaDB/MySQL's integer types, narrowest first; ``decimal`` holds any integer."""


def explain(reason: str, columns: Mapping[str, str], table: str) -> str:
    """``reason`` naming the fix too, when it names a column's range or length."""
    if (match := _OUT_OF_RANGE.match(reason)) and match.group(1) in columns:
        name = match.group(1)
        wider = reasons.wider_types(columns[name], INTEGER_TYPES, "decimal")
        return reasons.out_of_range(reason, table, name, columns[name], wider)
    if (match := _TOO_LONG.match(reason)) and match.group(1) in columns:
        name = match.group(1)
        return reasons.too_long(reason, table, name, columns[name])
    return reason
