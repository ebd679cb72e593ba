"""The list parameters every list endpoint shares (API.md 3.1) and the page they produce."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query

from syncline.api.schemas import MAX_ID

MAX_LIMIT = 1000
"""The largest page a list endpoint returns; a larger ``limit`` is a 422 (API.md 9.1)."""

DEFAULT_LIMIT = 100


@dataclass(frozen=True)
class Paging:
    """Where a page starts and how long it is."""

    offset: int
    limit: int

    def page(self, records: Sequence[Any], shape: Callable[[Any], dict[str, Any]]) -> Any:
        """The list envelope of ``records``, fetched with :attr:`fetch` (one more than shown)."""
        shown = records[: self.limit]
        return {"data": [shape(record) for record in shown], "hasMore": len(records) > self.limit}

    @property
    def fetch(self) -> int:
        """How many records to ask for: one beyond the page tells whether more follow."""
        return self.limit + 1


def _paging(
    offset: Annotated[
        int, Query(ge=0, le=MAX_ID, description="Skip this many results (for pagination).")
    ] = 0,
    limit: Annotated[
        int,
        Query(ge=0, le=MAX_LIMIT, description="Return at most this many results (at most 1000)."),
    ] = DEFAULT_LIMIT,
) -> Paging:
    return Paging(offset, limit)


PagingDep = Annotated[Paging, Depends(_paging)]
"""A route parameter: ``offset`` and ``limit`` from the query string."""
