"""Paths as clients write them, and the methods each path serves.

A trailing slash is dropped, never answered with a redirect: Starlette answers
``/syncs/`` with a 307 to ``/syncs`` whose location it builds from the request's Host
header, so a client that follows it sends its key wherever that header pointed.
Hightouch's server routes both spellings to the same resource, and so does Syncline,
for the API and the web UI alike.

A 405's ``Allow`` header must name every method of the path, but each method of a path
is a route of its own (``GET``, ``PATCH`` and ``DELETE`` on ``/syncs/{syncId}``), and
Starlette names only those of the first route that matched: :class:`PathMethods` keeps
them all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send


class DropTrailingSlash:
    """ASGI middleware: route ``/a/b/`` as ``/a/b`` (``/`` itself stays as it is)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] in ("http", "websocket") and len(path) > 1 and path.endswith("/"):
            raw = scope.get("raw_path") or path.encode()
            scope = {
                **scope,
                "path": path.rstrip("/") or "/",
                "raw_path": raw.rstrip(b"/") or b"/",
            }
        await self.app(scope, receive, send)


@dataclass
class PathMethods:
    """The methods of every path of the routers added, for the ``Allow`` header of a 405."""

    _paths: list[tuple[re.Pattern[str], frozenset[str]]] = field(default_factory=list)

    def add(self, prefix: str, router: APIRouter) -> None:
        """Note the operations of ``router``, served under ``prefix``."""
        for route in router.routes:
            if isinstance(route, APIRoute):
                regex, _, _ = compile_path(prefix + route.path)
                self._paths.append((regex, frozenset(route.methods or ())))

    def allowed(self, path: str) -> list[str]:
        """The methods served on ``path``, sorted; empty for a path of no router added."""
        methods: set[str] = set()
        for regex, served in self._paths:
            if regex.match(path):
                methods |= served
        return sorted(methods)
