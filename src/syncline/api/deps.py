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

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from syncline.api.auth import WorkspaceId
from syncline.catalog import Catalog, CatalogSession
from syncline.settings import Settings


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
