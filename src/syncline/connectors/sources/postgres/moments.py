"""PostgreSQL dates, times and timestamps as ADBC exports them, checked and made exact.

ADBC converts PostgreSQL's microseconds (or days) since 2000-01-01 to Arrow's since
1970-01-01 by adding the 2000 epoch in 64-bit (or 32-bit) integers. Three kinds of value
do not survive that:

- ``infinity`` / ``-infinity``, stored as the extreme integers, wrap around to two values
  below any real date; they become Syncline's infinity (see
  :mod:`syncline.connectors.sources.infinity`).
- Timestamps after 294247-01-10 04:00:54.775807 (PostgreSQL allows up to the year
  294276) exceed the largest Arrow microsecond timestamp, so the addition wraps them to
  values just above ``-2**63``. No Arrow timestamp holds them, so the read fails naming
  the column. A value of exactly ``2**63 - 1`` fails too: it is Syncline's ``infinity``.
- ``time '24:00:00'`` arrives as 86,400,000,000 microseconds, which no Arrow time holds
  (times stop before midnight), so the read fails naming the column.

Dates never wrap: PostgreSQL's last date (5874897-12-31) fits ``date32``.
"""

from __future__ import annotations

import logging

import pyarrow as pa
import pyarrow.compute as pc

from syncline.connectors.sources.infinity import DATE_INFINITY, TIMESTAMP_INFINITY
from syncline.errors import TerminalError

logger = logging.getLogger(__name__)

_PG_EPOCH_MICROS = 946_684_800_000_000
_PG_EPOCH_DAYS = 10_957

# What ADBC makes of PostgreSQL's infinity (the extreme integer plus the epoch, wrapped).
_ADBC_INFINITY = {
    "int64": (-(2**63) + _PG_EPOCH_MICROS - 1, -(2**63) + _PG_EPOCH_MICROS, TIMESTAMP_INFINITY),
    "int32": (-(2**31) + _PG_EPOCH_DAYS - 1, -(2**31) + _PG_EPOCH_DAYS, DATE_INFINITY),
}

LOWEST_TIMESTAMP = -210_866_803_200_000_000
"""PostgreSQL's earliest timestamp (4714-11-24 BC, UTC) in microseconds since 1970.

Any lower value ADBC exports is a timestamp that wrapped around (or an infinity).
"""

MIDNIGHT_MICROS = 86_400_000_000
"""``time '24:00:00'`` in microseconds, one past the largest Arrow ``time64[us]``."""


def exact_moments(array: pa.Array, name: str, type_name: str) -> pa.Array:
    """A timestamp or ``date32`` column with infinity made Syncline's, wrapped years refused."""
    timestamps = pa.types.is_timestamp(array.type)
    numbers = array.view(pa.int64() if timestamps else pa.int32())
    plus, minus, infinity = _ADBC_INFINITY[str(numbers.type)]
    extremes = pc.min_max(numbers)
    lowest, highest = extremes["min"].as_py(), extremes["max"].as_py()
    if lowest is None:
        return array

    if timestamps:
        _refuse_beyond_arrow(numbers, name, type_name, lowest, highest, (plus, minus))
    if lowest > minus:
        return array

    kind = numbers.type
    numbers = pc.if_else(pc.equal(numbers, plus), pa.scalar(infinity, kind), numbers)
    numbers = pc.if_else(pc.equal(numbers, minus), pa.scalar(-infinity, kind), numbers)
    return numbers.view(array.type)


def exact_times(array: pa.Array, name: str, type_name: str) -> pa.Array:
    """A ``time64[us]`` column, refused when it holds ``24:00:00``."""
    highest = pc.max(array.view(pa.int64())).as_py()
    if highest is not None and highest >= MIDNIGHT_MICROS:
        raise TerminalError(
            f"column {name!r} ({type_name}) holds the time 24:00:00, which no Arrow time "
            f"holds (times end before midnight); cast it in the model's SQL ({name}::text), "
            "or map 24:00:00 to a value of your choosing there",
            connector="postgres",
        )
    return array


def _refuse_beyond_arrow(
    numbers: pa.Array,
    name: str,
    type_name: str,
    lowest: int,
    highest: int,
    infinities: tuple[int, int],
) -> None:
    """Raise when ``numbers`` holds a timestamp no Arrow microsecond timestamp holds."""
    if highest == TIMESTAMP_INFINITY:
        problem = "the timestamp 294247-01-10 04:00:54.775807, which Syncline reads as infinity"
    elif lowest < LOWEST_TIMESTAMP and _wrapped(numbers, infinities):
        problem = "a timestamp after 294247-01-10, beyond the largest Arrow timestamp"
    else:
        return
    raise TerminalError(
        f"column {name!r} ({type_name}) holds {problem}; cast it in the model's SQL "
        f"({name}::text), or replace such values there (e.g. with 'infinity')",
        connector="postgres",
    )


def _wrapped(numbers: pa.Array, infinities: tuple[int, int]) -> bool:
    """Whether ``numbers`` holds a value below PostgreSQL's range other than an infinity."""
    low = pc.less(numbers, LOWEST_TIMESTAMP)
    not_infinite = pc.and_(
        pc.not_equal(numbers, infinities[0]), pc.not_equal(numbers, infinities[1])
    )
    return bool(pc.any(pc.and_(low, not_infinite)).as_py())
