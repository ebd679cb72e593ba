"""The REST API v1 application: Hightouch-compatible resources under ``/api/v1``.

:func:`create_app` builds the app on an open catalog. To add endpoints, write a
module in :mod:`syncline.api.routes` that exposes ``router: fastapi.APIRouter``
(prefix such as ``/syncs``, ``responses=COMMON_RESPONSES``), take the workspace's
session with :data:`~syncline.api.deps.ReadSession` or
:data:`~syncline.api.deps.WriteSession`, raise the catalog's own errors (the
handlers in :mod:`syncline.api.errors` shape them), and add the module to
``ROUTERS`` below.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI

from syncline.api import errors
from syncline.api.auth import RateLimiter
from syncline.api.deps import one_value_each
from syncline.api.middleware import GuardRequestBody
from syncline.api.paths import DropTrailingSlash, PathMethods
from syncline.catalog import Catalog
from syncline.settings import Settings

logger = logging.getLogger(__name__)

PREFIX = "/api/v1"

ROUTERS = (
    "service",
    "sources",
    "destinations",
    "models",
    "syncs",
    "runs",
    "sequences",
    "alerts",
)
"""Route modules under :mod:`syncline.api.routes`, in the order the document lists them.

A module not written yet is skipped, so the API grows as its routers land.
"""


def create_app(catalog: Catalog, settings: Settings, *, background: bool = True) -> FastAPI:
    """The API app on ``catalog``.

    With ``background`` the app also runs a worker pool and the scheduler while it
    serves (one process does everything, the single-machine setup); without it the
    app only serves requests, e.g. behind a load balancer beside separate workers,
    or in tests.
    """
    app = FastAPI(
        title="Syncline API",
        version="1.0.0",
        description="Reverse ETL: sources, models, destinations and syncs.",
        openapi_url=f"{PREFIX}/openapi.json",
        # The interactive docs pages load their scripts from a public CDN; the document
        # itself is enough for clients and generators, and nothing leaves this server.
        docs_url=None,
        redoc_url=None,
        lifespan=_background(catalog, settings) if background else None,
        # A redirect's location would be built from the Host header; see syncline.api.paths.
        redirect_slashes=False,
    )
    app.state.catalog = catalog
    app.state.settings = settings
    app.state.rate_limiter = RateLimiter()
    app.state.path_methods = PathMethods()
    errors.install(app)
    app.add_middleware(GuardRequestBody, limit=settings.request_body_limit)
    app.add_middleware(DropTrailingSlash)

    for name in ROUTERS:
        try:
            module = importlib.import_module(f"syncline.api.routes.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"syncline.api.routes.{name}":
                raise
            logger.debug("route module %s is not present; its endpoints are not served", name)
            continue
        app.include_router(module.router, prefix=PREFIX, dependencies=[Depends(one_value_each)])
        app.state.path_methods.add(PREFIX, module.router)

    # The web UI is served by the same app, at "/" (see syncline.web).
    from syncline.web import mount as mount_web_ui

    mount_web_ui(app)
    return app


def _background(catalog: Catalog, settings: Settings) -> Any:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Imported here so that an app without background work never loads them.
        from syncline.scheduling.scheduler import Scheduler
        from syncline.worker.pool import WorkerPool

        pool = WorkerPool(catalog, settings)
        scheduler = Scheduler(catalog, settings)
        pool.start()
        scheduler.start()
        logger.info("API serving with a worker pool and the scheduler in this process")
        try:
            yield
        finally:
            scheduler.stop()
            pool.stop(graceful=True)

    return lifespan
