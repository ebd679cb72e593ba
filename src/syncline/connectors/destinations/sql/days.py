"""Values a DATE column would store without their time of day, found before staging.

PostgreSQL, MySQL and DuckDB all store a timestamp, or timestamp text, sent to a DATE
column as its day, silently: ``2024-01-01 18:30`` becomes ``2024-01-01`` and is counted
as sent, and the time is never sent again. A value at midnight loses nothing and is
kept. The others are found here, column-wise, and the row is rejected with a reason
naming the column and the fix.
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

from syncline.connectors.destinations.sql.refusals import refuse_marked
from syncline.connectors.sources.infinity import infinite

_DATE_TYPE = re.compile(r"date", re.I)

_TIME_OF_DAY = r"^\s*[+-]?\d+-\d+-\d+(?:[T ]|\s+)[\d:.]*[1-9]"
"""Date text followed by a time (``18:30``, ``00:00:00.5``) with a digit other than 0."""


def refuse_times_of_day(records: pa.Table, columns: dict[str, str], table: str) -> dict[int, str]:
    """The rows of ``records`` holding a time of day for a DATE column, by position.

    ``columns`` are the table's column types by name. Timestamps (their UTC day, as
    every table session is in UTC) and text are checked; infinite timestamps are left
    to the checks of infinity.
    """
    reasons: dict[int, str] = {}
    for name, values in zip(records.column_names, records.columns, strict=True):
        kind = columns.get(name, "")
        if not _DATE_TYPE.fullmatch(kind.strip()):
            continue
        if pat.is_dictionary(values.type):
            values = pc.cast(values, values.type.value_type)
        mask = _with_time_of_day(values)
        if mask is None:
            continue
        reason = (
            f"field {name!r} holds a time of day, which column {name!r} ({kind}) of table "
            f"{table} would drop, storing only the day; widen the column (ALTER its type to "
            "a timestamp) or CAST the value to a date in the model's SQL"
        )
        refuse_marked(reasons, mask, reason)
    return reasons


def _with_time_of_day(values: Any) -> Any | None:
    """A mask of the values past midnight, or None when ``values`` hold no time of day."""
    kind = values.type
    if pat.is_string(kind) or pat.is_large_string(kind):
        return pc.match_substring_regex(values, _TIME_OF_DAY)
    if not pat.is_timestamp(kind):
        return None
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    # Arrow holds instants as UTC: without the zone they are the UTC wall time.
    wall = pc.cast(values, pa.timestamp(kind.unit), safe=False)
    days = pc.cast(pc.cast(wall, pa.date32(), safe=False), wall.type, safe=False)
    mask = pc.not_equal(days, wall)
    infinities = infinite(values)
    if infinities is not None:
        mask = pc.and_(mask, pc.invert(infinities))
    return mask
