"""The windows in which the local planner reads its planned rows out.

A plan is read in model order, so that the row file is read front to back. DuckDB sorts
what it returns, and a sort of every planned row at once outgrows the planner's budget
when rows are wide (keys of hundreds of bytes, say). The rows with a model position are
therefore read in windows of positions, each holding about a share of the budget in
bytes. The windows are cut where the bytes are: the planned rows' bytes are summed by
small ranges of positions, and a window ends once its ranges hold its share, so that
rows crowded into one part of the model (new rows at its end, a block of long keys) are
split as finely as rows spread over it. Removed rows, which have no position and need no
order, are streamed in one unsorted window, which holds next to nothing in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from syncline.engine.canonical import quote_identifier

FEW_ROWS = 1024
"""Planned rows read out in one window without measuring them first."""

BUDGET_SHARE = 4
"""One window's rows take at most this fraction (1/n) of the budget, as DuckDB holds them."""

RANGES = 1 << 16
"""Ranges of positions whose planned rows' bytes are summed, to find where to cut."""

ROW_OVERHEAD = 48
"""Bytes DuckDB takes for a planned row beside its values' own (fixed-width columns,
the string pointers), when it sorts it."""


@dataclass(frozen=True)
class Window:
    """A condition on the plan (SQL, with ``?`` parameters), and whether its rows are
    read in model order."""

    where: str
    parameters: tuple[int, ...] = ()
    in_order: bool = True


def range_width(last_position: int) -> int:
    """Positions per range, so that positions 0 to ``last_position`` make
    :data:`RANGES` ranges at most."""
    return max(1, -(-(last_position + 1) // RANGES))


def cuts(ranges: Iterable[tuple[int, int]], width: int, window_bytes: int) -> list[int]:
    """The positions where windows start, after the first: ``ranges`` are (range number,
    bytes of its planned rows) in ascending order, each ``width`` positions wide; a
    window ends with the range that brings it to ``window_bytes``."""
    found: list[int] = []
    held = 0
    for number, size in ranges:
        if held and held + size > window_bytes:
            found.append(number * width)
            held = 0
        held += size
    return found


def row_bytes_sql(columns: Iterable[tuple[str, str]]) -> str:
    """SQL for about the bytes a row of ``columns`` (names, DuckDB type names) takes in
    DuckDB: its strings' and blobs' lengths (nested values by their text), and a fixed
    part."""
    parts = [str(ROW_OVERHEAD)]
    for name, kind in columns:
        column = quote_identifier(name)
        if kind in ("VARCHAR", "JSON"):
            parts.append(f"coalesce(strlen({column}), 0)")
        elif kind == "BLOB":
            parts.append(f"coalesce(octet_length({column}), 0)")
        elif any(mark in kind for mark in ("[", "STRUCT", "MAP", "UNION")):
            parts.append(f"coalesce(strlen(CAST({column} AS VARCHAR)), 0)")
        else:
            parts.append("16")
    return " + ".join(parts)


def plan_windows(position: str, starts: Sequence[int]) -> list[Window]:
    """Windows of the positions between ``starts`` (ascending), then every row without
    one. The first and last windows are open-ended, so that together they cover every
    position, whatever the starts."""
    bounds = sorted(set(starts))
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
