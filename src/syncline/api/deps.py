"""Route dependencies: a catalog session in the calling key's workspace.

A route takes the session as a parameter and never names a workspace itself, so a
resource of another workspace simply is not there (404, never 403)::

    @router.get("/{sourceId}")
    def get_source(sourceId: int, session: ReadSession) -> dict[str, Any]:
        return session.to_api(session.sources.get(sourceId))

:data:`ReadSession` takes no write lock (use it for GET); :data:`WriteSession`
commits when the route returns and rolls back when it raises. Both end before the
response is sent, so a failed commit is the request's error, not a lost write.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from syncline.api.auth import WorkspaceId
from syncline.catalog import Catalog, CatalogSession
from syncline.catalog.repository import raise_problems
from syncline.errors import Problem
from syncline.settings import Settings

REPEATABLE_QUERY = frozenset({"tags"})
"""Query parameters that may be given more than once (each adds to a list)."""


def catalog(request: Request) -> Catalog:
    """The catalog the app was made with."""
    found: Catalog = request.app.state.catalog
    return found


def _read_session(request: Request, workspace_id: WorkspaceId) -> Iterator[CatalogSession]:
    with catalog(request).session(workspace_id, read_only=True) as session:
        yield session


def _write_session(request: Request, workspace_id: WorkspaceId) -> Iterator[CatalogSession]:
    with catalog(request).session(workspace_id) as session:
        yield session


ReadSession = Annotated[CatalogSession, Depends(_read_session, scope="function")]
"""A read-only session in the key's workspace."""

WriteSession = Annotated[CatalogSession, Depends(_write_session, scope="function")]
"""A session in the key's workspace, committed when the route returns."""


def settings(request: Request) -> Settings:
    """The settings the app was made with."""
    found: Settings = request.app.state.settings
    return found


CatalogDep = Annotated[Catalog, Depends(catalog)]
"""The catalog itself, for routes that manage their own sessions (e.g. long reads)."""

SettingsDep = Annotated[Settings, Depends(settings)]
"""The settings of the serving process (e.g. where snapshots are)."""


def one_value_each(request: Request) -> None:
    """Refuse a query parameter given twice (``?slug=a&slug=b``) that takes one value.

    The framework would keep the last and drop the others unseen, so the answer would
    be for a question the client did not ask.
    """
    counts = Counter(key for key, _ in request.query_params.multi_items())
    raise_problems(
        [
            Problem(
                f"query.{key}",
                f"{key} is given {count} times but takes one value",
                fix=f"send {key} once",
                value=request.query_params.getlist(key),
            )
            for key, count in counts.items()
            if count > 1 and key not in REPEATABLE_QUERY
        ]
    )
