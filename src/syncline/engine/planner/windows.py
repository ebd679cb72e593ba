"""The windows in which the local planner reads its planned rows out.

A plan is read in model order, so that the row file is read front to back. DuckDB sorts
what it returns, and a sort of every planned row at once outgrows the planner's budget
when rows are wide (keys of hundreds of bytes, say). The rows with a model position are
therefore read in windows of positions, each holding about as many rows as a share of the
budget can sort, cut where the planned rows are (quantiles of their positions), so that
rows crowded into one part of the model (new rows at its end) are split as finely as
rows spread over it. Removed rows, which have no position and need no order, are
streamed in one unsorted window, which holds next to nothing in memory.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

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


def window_count(placed: int, rows_per_window: int) -> int:
    """Windows needed for ``placed`` rows with a position, ``rows_per_window`` each."""
    return max(1, math.ceil(placed / rows_per_window))


def plan_windows(position: str, cuts: Sequence[int]) -> list[Window]:
    """Windows of the positions between ``cuts`` (ascending), then every row without one.

    The first and last windows are open-ended, so that together they cover every
    position, whatever the cuts.
    """
    bounds = sorted(set(cuts))
    if not bounds:
        windows = [Window(f"{position} IS NOT NULL")]
    else:
        windows = [Window(f"{position} < ?", (bounds[0],))]
        windows += [
            Window(f"{position} >= ? AND {position} < ?", (low, high))
            for low, high in zip(bounds, bounds[1:], strict=False)
        ]
        windows.append(Window(f"{position} >= ?", (bounds[-1],)))
    return [*windows, Window(f"{position} IS NULL", in_order=False)]
