"""Recording the rows a per-column check refuses, the first reason for a row kept."""

from __future__ import annotations

from typing import Any

import pyarrow.compute as pc


def refuse_marked(reasons: dict[int, str], mask: Any, reason: str) -> None:
    """Give every row ``mask`` marks true ``reason``, unless an earlier check gave one;
    a NULL in ``mask`` marks nothing."""
    for row in pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist():
        reasons.setdefault(row, reason)
