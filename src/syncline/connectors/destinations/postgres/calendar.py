"""Dates and timestamps outside PostgreSQL's range, refused with a reason before staging.

PostgreSQL counts days from 4714-11-24 BC (day 0 of the Julian day count); its dates
end with the year 5874897 and its timestamps with 294276. Arrow holds days beyond both,
and the server's own refusal ("date out of range") names neither the field nor the fix.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.types as pat

from syncline.connectors.destinations.sql.eras import days_outside
from syncline.connectors.destinations.sql.refusals import refuse_marked
from syncline.connectors.sources.infinity import infinite, without_infinity

FIRST_DAY = -2_440_588
"""4714-11-24 BC in days since 1970-01-01: the first day of dates and timestamps."""
_ENDS = {
    "date": (2_145_042_906, "5874897-12-31"),
    "timestamp": (106_762_940, "294276-12-31"),
}
"""The first day after the range, and the last day in it, of dates and of timestamps."""


def refuse_out_of_range(records: pa.Table, columns: dict[str, str], table: str) -> dict[int, str]:
    """The rows of ``records`` holding a day a date or timestamp column cannot store.

    ``columns`` are the table's column types by name; a column of another type (text)
    takes any day. Infinite values fit, as the words PostgreSQL stores.
    """
    reasons: dict[int, str] = {}
    for name, values in zip(records.column_names, records.columns, strict=True):
        kind = columns.get(name, "").split("(")[0].split(" ")[0]
        if kind not in _ENDS or not (pat.is_date32(values.type) or pat.is_timestamp(values.type)):
            continue
        values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        infinities = infinite(values)
        if infinities is not None:
            values = without_infinity(values, infinities)
        end, last = _ENDS[kind]
        outside = days_outside(values, FIRST_DAY, end)
        if outside is None:
            continue
        reason = (
            f"field {name!r} holds a day before 4714-11-24 BC or after {last}, which "
            f"column {name!r} ({columns[name]}) of table {table} cannot store; turn it "
            "into NULL or a day in range in the model's SQL"
        )
        refuse_marked(reasons, outside, reason)
    return reasons
