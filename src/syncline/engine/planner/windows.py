"""The windows in which the local planner reads its planned rows out.

A plan is read in model order, so that the row file is read front to back. DuckDB sorts
what it returns, and a sort of every planned row at once outgrows the planner's budget
when rows are wide (keys of hundreds of bytes, say). The rows with a model position are
therefore read one range of positions at a time, each range holding about as many rows
as a share of the budget can sort. Removed rows, which have no position and need no
order, are streamed in one unsorted window, which holds next to nothing in memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_POSITIONS = 1 << 20
"""Model positions in one window at most, however narrow the rows."""

MIN_ROWS = 1 << 14
"""Planned rows per window at least, however wide the rows: fewer costs more scans."""

BUDGET_SHARE = 4
"""One window's rows take at most this fraction (1/n) of the budget, as DuckDB holds them."""


@dataclass(frozen=True)
class Window:
    """A condition on the plan (SQL, with ``?`` parameters), and whether its rows are
    read in model order."""

    where: str
    parameters: tuple[int, ...] = ()
    in_order: bool = True


def window_rows(row_bytes: float, budget_bytes: int) -> int:
    """Planned rows one window may hold: a share of the budget over the bytes of a row."""
    fitting = budget_bytes // (BUDGET_SHARE * max(row_bytes, 1.0))
    return max(MIN_ROWS, int(fitting))


def plan_windows(
    *, position: str, rows_read: int, placed: int, rows_per_window: int
) -> list[Window]:
    """The windows that read ``placed`` rows spread over ``rows_read`` model positions,
    ``rows_per_window`` rows or so each, then every row without a position.

    Together they cover every position whatever the count says, so that no planned row
    is left out. Positions are cut in equal ranges, on the assumption that planned rows
    spread evenly over the model.
    """
    ranges = max(1, math.ceil(placed / rows_per_window))
    width = min(MAX_POSITIONS, max(1, math.ceil(rows_read / ranges)))
    windows = [
        Window(f"{position} >= ? AND {position} < ?", (start, start + width))
        for start in range(0, rows_read, width)
    ]
    return [*windows, Window(f"{position} IS NULL", in_order=False)]
