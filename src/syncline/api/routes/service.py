"""``/health`` and ``/metrics``: is the service up, and what is it doing.

``/health`` needs no key, so a load balancer can probe it. ``/metrics`` needs a key
and counts only that key's workspace: the counts name how busy a team is, which
another team's key should not learn. A Prometheus scrape job sends the key with
``authorization: {credentials: <key>}``.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import func, select, text

from syncline.api.deps import CatalogDep, ReadSession
from syncline.api.errors import COMMON_RESPONSES
from syncline.api.schemas import Strict
from syncline.catalog.tables import RunRecord, SyncRecord
from syncline.engine.report import RunStatus

logger = logging.getLogger(__name__)

router = APIRouter(tags=["service"])


class Health(Strict):
    """Whether the API and its catalog answer."""

    status: Literal["ok", "unavailable"]
    catalog: Literal["ok", "unreachable"]


@router.get(
    "/health",
    operation_id="GetHealth",
    response_model=Health,
    responses={503: {"model": Health, "description": "The catalog database does not answer"}},
)
def health(catalog: CatalogDep) -> Any:
    """200 when the catalog database answers a query, 503 when it does not; needs no key."""
    try:
        with catalog.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure at all means the catalog is unreachable
        logger.warning("health check: the catalog does not answer (%s)", type(exc).__name__)
        return JSONResponse({"status": "unavailable", "catalog": "unreachable"}, 503)
    return {"status": "ok", "catalog": "ok"}


@router.get(
    "/metrics",
    operation_id="GetMetrics",
    response_class=PlainTextResponse,
    responses={
        **COMMON_RESPONSES,
        200: {
            "description": "Prometheus text format, version 0.0.4",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
    },
)
def metrics(session: ReadSession) -> PlainTextResponse:
    """Counts of the key's workspace in Prometheus text format: runs by status, syncs."""
    orm = session.orm
    workspace = session.workspace_id
    by_status = dict(
        orm.execute(
            select(RunRecord.status, func.count())
            .join(SyncRecord, SyncRecord.id == RunRecord.sync_id)
            .where(SyncRecord.workspace_id == workspace)
            .group_by(RunRecord.status)
        ).all()
    )
    disabled = orm.scalar(
        select(func.count()).where(SyncRecord.workspace_id == workspace, SyncRecord.disabled)
    )

    lines = [
        "# HELP syncline_runs Runs of the workspace's syncs, by status.",
        "# TYPE syncline_runs gauge",
    ]
    for status in RunStatus:
        lines.append(f'syncline_runs{{status="{status.value}"}} {by_status.get(status.value, 0)}')
    for kind, repository in (
        ("sources", session.sources),
        ("destinations", session.destinations),
        ("models", session.models),
        ("syncs", session.syncs),
    ):
        lines += [
            f"# HELP syncline_{kind} {kind.capitalize()} in the workspace.",
            f"# TYPE syncline_{kind} gauge",
            f"syncline_{kind} {repository.count()}",
        ]
    lines += [
        "# HELP syncline_syncs_disabled Syncs turned off.",
        "# TYPE syncline_syncs_disabled gauge",
        f"syncline_syncs_disabled {disabled or 0}",
    ]
    return PlainTextResponse(
        "\n".join(lines) + "\n", media_type="text/plain; version=0.0.4; charset=utf-8"
    )
