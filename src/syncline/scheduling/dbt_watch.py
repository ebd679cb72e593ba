"""The scheduler's side of dbt Cloud schedules: poll each job now and then, queue runs.

Each sync with a ``dbt`` schedule is polled at most every ``poll_seconds`` (longer when
dbt Cloud asks to slow down). The HTTP call happens outside any catalog transaction,
and the watermark is only moved, and a run only queued, in one transaction afterwards.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from syncline.catalog.catalog import Catalog
from syncline.catalog.tables import SyncRecord
from syncline.errors import ConnectorError, TransientError
from syncline.scheduling.dbt_cloud import DbtCloudClient, decide
from syncline.scheduling.state import sync_state
from syncline.settings import Settings

logger = logging.getLogger(__name__)

POLL_SECONDS = 60.0
"""How often one sync's dbt Cloud job is asked for new runs."""


class DbtCloudWatch:
    """Queues a run of a sync when its dbt Cloud job has a new successful run."""

    def __init__(
        self, catalog: Catalog, settings: Settings, *, poll_seconds: float = POLL_SECONDS
    ) -> None:
        self.catalog = catalog
        self.settings = settings
        self.poll_seconds = poll_seconds
        self._next_poll: dict[int, datetime] = {}
        self._reported: dict[int, str] = {}
        """The last problem logged per sync, so a lasting problem is logged once."""

    def check(self, workspace_id: int, sync_id: int, now: datetime) -> int | None:
        """Poll the sync's job when its turn has come; the id of the run queued, or None."""
        if now < self._next_poll.get(sync_id, now):
            return None
        self._next_poll[sync_id] = now + timedelta(seconds=self.poll_seconds)

        with self.catalog.session(workspace_id) as session:
            sync = session.orm.get(SyncRecord, sync_id)
            if sync is None or sync.disabled or sync.schedule is None:
                return None
            slug = sync.slug
            account, job = _ids(sync.schedule)
            watermark = sync_state(session.orm, sync).watermark

        if not (self.settings.dbt_cloud_url and self.settings.dbt_cloud_token):
            self._report(
                sync_id,
                logging.ERROR,
                "sync %s has a dbt Cloud schedule, but no dbt Cloud is configured; set "
                "SYNCLINE_DBT_CLOUD_URL and SYNCLINE_DBT_CLOUD_TOKEN",
                slug,
            )
            return None
        if account is None or job is None:
            message = "sync %s: its dbt Cloud schedule needs account.id and job.id"
            self._report(sync_id, logging.ERROR, message, slug)
            return None

        try:
            with DbtCloudClient(self.settings.dbt_cloud_url, self.settings.dbt_cloud_token) as api:
                newer_than = int(watermark) if watermark is not None else None
                runs = api.job_runs(account, job, newer_than=newer_than)
        except ConnectorError as error:
            if isinstance(error, TransientError) and error.retry_after:
                wait = max(self.poll_seconds, error.retry_after)
                self._next_poll[sync_id] = now + timedelta(seconds=wait)
            level = logging.WARNING if isinstance(error, TransientError) else logging.ERROR
            self._report(sync_id, level, "sync %s: polling dbt Cloud failed: %s", slug, error)
            return None
        self._reported.pop(sync_id, None)

        decision = decide(watermark, runs)
        with self.catalog.session(workspace_id) as session:
            sync = session.orm.get(SyncRecord, sync_id, with_for_update=True)
            if sync is None or sync.disabled or _ids(sync.schedule) != (account, job):
                return None
            state = sync_state(session.orm, sync, lock=True)
            if state.watermark != watermark:
                # The schedule was edited while dbt Cloud was asked; poll afresh next time.
                return None
            state.watermark = decision.watermark
            if decision.trigger is None:
                if watermark is None:
                    logger.info(
                        "sync %s: watching dbt Cloud job %s for runs after %s",
                        slug,
                        job,
                        decision.watermark,
                    )
                return None
            run = session.runs.enqueue(sync, triggered_by="schedule")
            logger.info(
                "sync %s: dbt Cloud job %s run %s succeeded; queued run %s",
                slug,
                job,
                decision.trigger.id,
                run.id,
                extra={"sync_id": sync.id, "run_id": run.id},
            )
            return run.id

    def _report(self, sync_id: int, level: int, message: str, *args: object) -> None:
        text = message % args
        if self._reported.get(sync_id) != text:
            self._reported[sync_id] = text
            logger.log(level, message, *args, extra={"sync_id": sync_id})


def _ids(schedule: dict[str, Any] | None) -> tuple[str | None, str | None]:
    body = (schedule or {}).get("schedule") or {}
    account = (body.get("account") or {}).get("id")
    job = (body.get("job") or {}).get("id")
    return (
        str(account) if account is not None else None,
        str(job) if job is not None else None,
    )
