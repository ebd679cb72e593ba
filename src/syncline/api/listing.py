"""The list parameters every list endpoint shares (API.md 3.1) and the page they produce."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query

from syncline.api.schemas import MAX_ID
from syncline.catalog.repository import raise_problems
from syncline.errors import Problem

MAX_LIMIT = 1000
"""The largest page a list endpoint returns; a larger ``limit`` is a 422 (API.md 9.1)."""

DEFAULT_LIMIT = 100

_BAD_KEY_CHARACTERS = '"\\\x00'
"""Characters a tag key may not hold: the catalog finds tags by a JSON path."""


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


def tag_filter(tags: list[str] | None) -> dict[str, str] | None:
    """``["team:ops", ...]`` as a mapping; a tag that is not ``key:value`` is a 422."""
    if not tags:
        return None
    wanted: dict[str, str] = {}
    problems = []
    for tag in tags:
        key, colon, value = tag.partition(":")
        if colon and key and any(c in key for c in _BAD_KEY_CHARACTERS):
            problems.append(
                Problem(
                    "query.tags",
                    f"the key of tag {tag!r} holds a double quote, backslash or NUL, "
                    "which no tag key holds",
                    fix="leave those characters out of the key",
                    value=tag,
                )
            )
            continue
        if not colon or not key:
            problems.append(
                Problem(
                    "query.tags",
                    f"tag {tag!r} is not key:value",
                    fix="e.g. team:marketing",
                    value=tag,
                )
            )
            continue
        if "\x00" in value:
            problems.append(
                Problem(
                    "query.tags",
                    f"tag {tag!r} holds the NUL character, which no tag value holds",
                    fix="leave the NUL out of the value",
                    value=tag,
                )
            )
            continue
        wanted[key] = value
    raise_problems(problems)
    return wanted
