"""Numbers a BOOLEAN column would store as true, found before staging.

DuckDB casts any number but zero to true, silently: ``2`` or ``-1`` sent to a BOOLEAN
column is stored as ``true`` and counted as sent, and reading it back gives another
value. Only 0 and 1 are a boolean's own numbers; other numbers are found here,
column-wise, and the row is rejected with a reason naming the column and the fix.
(PostgreSQL refuses such a number itself, row by row; MySQL's BOOLEAN is an integer
column that stores it as given.)
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

from syncline.connectors.destinations.sql.refusals import refuse_marked

_BOOLEAN_TYPE = re.compile(r"bool(?:ean)?", re.I)


def refuse_non_booleans(records: pa.Table, columns: dict[str, str], table: str) -> dict[int, str]:
    """The rows of ``records`` holding a number other than 0 or 1 for a BOOLEAN column,
    by position, with the reason.

    ``columns`` are the table's column types by name. Integers and floats are checked
    (a float NaN is no boolean either); other types are left to the database.
    """
    reasons: dict[int, str] = {}
    for name, values in zip(records.column_names, records.columns, strict=True):
        kind = columns.get(name, "")
        if not _BOOLEAN_TYPE.fullmatch(kind.strip()):
            continue
        if pat.is_dictionary(values.type):
            values = pc.cast(values, values.type.value_type)
        if not (pat.is_integer(values.type) or pat.is_floating(values.type)):
            continue
        # Compared, not looked up: -0.0 is 0 too, and NaN equals neither.
        bit = pc.or_(pc.equal(values, 0), pc.equal(values, 1))
        mask = pc.and_(pc.is_valid(values), pc.invert(bit))
        reason = (
            f"field {name!r} holds a number other than 0 or 1, which column {name!r} "
            f"({kind}) of table {table} would store as true; make the column an integer "
            "(ALTER its type) or turn the value into a boolean in the model's SQL"
        )
        refuse_marked(reasons, mask, reason)
    return reasons
