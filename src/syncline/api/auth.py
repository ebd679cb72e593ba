"""Who is calling: the bearer key decides the workspace, and each workspace has a rate limit.

A key belongs to one workspace and opens all of it; there are no scopes (API.md 2).

The rate limit (200 requests per 10 seconds per workspace) is counted in this
process. Several API processes behind one balancer each count their own window, so
a workspace can reach up to N times the limit across N processes. That is a choice:
counting in the catalog database would add a write to every request, and the limit
exists to protect one server from a runaway client, which a per-process count does.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from syncline.api.errors import AuthenticationError, RateLimited
from syncline.catalog import Catalog

RATE_LIMIT = 200
"""Requests a workspace may make per :data:`RATE_WINDOW`."""

RATE_WINDOW = 10.0
"""Seconds over which :data:`RATE_LIMIT` is counted."""

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearerAuth",
    description="An API key made with `syncline keys create`; it opens one workspace.",
)
"""The security scheme the OpenAPI document declares (``bearerAuth``)."""


class RateLimiter:
    """A sliding window of request times per workspace, safe to share between threads."""

    def __init__(
        self,
        limit: int = RATE_LIMIT,
        window: float = RATE_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._hits: dict[int, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, workspace_id: int) -> None:
        """Count one request; RateLimited (with the seconds to wait) when over the limit."""
        now = self.clock()
        with self._lock:
            hits = self._hits.setdefault(workspace_id, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                wait = hits[0] + self.window - now
                raise RateLimited(max(1, math.ceil(wait)))
            hits.append(now)


def _catalog(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.catalog
    return catalog


_AUTHENTICATED = "authenticated_workspace_id"
"""Where :func:`workspace_of` leaves its answer in the request's state."""


def workspace_of(request: Request) -> int:
    """The workspace id of the request's key, after counting the request against its limit.

    Raises AuthenticationError without a key or with an unknown or revoked one, and
    RateLimited when the workspace is over its limit. The answer is kept on the
    request, so that the request is counted once however often it is asked.
    """
    known: int | None = getattr(request.state, _AUTHENTICATED, None)
    if known is not None:
        return known

    header = request.headers.get("authorization")
    if not header:
        raise AuthenticationError("No authorization header found")
    scheme, key = get_authorization_scheme_param(header)
    if not (scheme and key) or scheme.lower() != "bearer":
        raise AuthenticationError("Token is invalid")

    owner = _catalog(request).authenticate(key)
    if owner is None:
        raise AuthenticationError("Token is invalid")

    limiter: RateLimiter = request.app.state.rate_limiter
    limiter.hit(owner.workspace_id)
    setattr(request.state, _AUTHENTICATED, owner.workspace_id)
    return owner.workspace_id


def authenticate(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> int:
    """The dependency behind :data:`WorkspaceId`: :func:`workspace_of` the request.

    The body guard (:mod:`syncline.api.middleware`) may have asked already, before the
    body was read. ``_credentials`` declares the scheme in the OpenAPI document.
    """
    return workspace_of(request)


WorkspaceId = Annotated[int, Depends(authenticate)]
"""A route parameter: the id of the calling key's workspace."""
