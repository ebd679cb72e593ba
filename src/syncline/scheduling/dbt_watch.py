"""The scheduler's side of dbt Cloud schedules: poll each job now and then, queue runs.

Each sync or sequence with a ``dbt`` schedule is polled at most every ``poll_seconds`` (longer when
dbt Cloud asks to slow down). The HTTP call happens outside any catalog transaction,
and the watermark is only moved, and a run only queued, in one transaction afterwards.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from syncline.catalog.catalog import Catalog
from syncline.errors import ConnectorError, TransientError
from syncline.numerals import whole_number
from syncline.scheduling.dbt_cloud import DbtCloudClient, decide
from syncline.scheduling.state import schedule_state
from syncline.scheduling.targets import Target
from syncline.settings import Settings

logger = logging.getLogger(__name__)

POLL_SECONDS = 60.0
"""How often one sync's dbt Cloud job is asked for new runs."""

MAX_RETRY_AFTER = 3600.0
"""The longest ``Retry-After`` honoured: a longer one (or a date years ahead) would stop
polling for that long, so the job is asked again after this many seconds."""

_Key = tuple[str, int | str]
"""A target's kind and id."""


class DbtCloudWatch:
    """Queues a run of a sync or sequence when its dbt Cloud job has a new successful run."""

    def __init__(
        self, catalog: Catalog, settings: Settings, *, poll_seconds: float = POLL_SECONDS
    ) -> None:
        self.catalog = catalog
        self.settings = settings
        self.poll_seconds = poll_seconds
        self._next_poll: dict[_Key, datetime] = {}
        self._reported: dict[_Key, str] = {}
        """The last problem logged per sync, so a lasting problem is logged once."""
        self._unconfigured_told = False
        """Whether a warning said that dbt Cloud is not configured (once per process)."""

    def check(self, target: Target, now: datetime) -> int | str | None:
        """Poll the target's job when its turn has come; the id of the run queued, or None."""
        key = (target.kind, target.ident)
        if now < self._next_poll.get(key, now):
            return None
        self._next_poll[key] = now + timedelta(seconds=self.poll_seconds)

        with self.catalog.session(target.workspace_id) as session:
            record = target.load(session)
            if record is None:
                return None
            account, job = _ids(record.schedule)
            stored = schedule_state(session.orm, record).watermark
        watermark = stored if stored is None or whole_number(stored) is not None else None
        if stored is not None and watermark is None:
            # Not a run id (edited by hand?): start watching afresh rather than fail forever.
            logger.warning(
                "%s %s: ignoring dbt Cloud watermark %r", target.kind, target.slug, stored
            )

        name = f"{target.kind} {target.slug}"
        if not (self.settings.dbt_cloud_url and self.settings.dbt_cloud_token):
            # A setting of the installation, not of each sync: one warning says it, and
            # the other syncs waiting on it are noted at INFO.
            first = not self._unconfigured_told
            self._unconfigured_told = True
            self._report(
                key,
                logging.WARNING if first else logging.INFO,
                "%s has a dbt Cloud schedule, but no dbt Cloud is configured, so it never "
                "runs by itself; set SYNCLINE_DBT_CLOUD_URL and SYNCLINE_DBT_CLOUD_TOKEN, or "
                "give it another schedule",
                name,
            )
            return None
        if account is None or job is None:
            message = "%s: its dbt Cloud schedule needs account.id and job.id"
            self._report(key, logging.ERROR, message, name)
            return None

        try:
            with DbtCloudClient(self.settings.dbt_cloud_url, self.settings.dbt_cloud_token) as api:
                newer_than = int(watermark) if watermark is not None else None
                runs = api.job_runs(account, job, newer_than=newer_than)
        except ConnectorError as error:
            if isinstance(error, TransientError) and error.retry_after:
                wait = max(self.poll_seconds, min(error.retry_after, MAX_RETRY_AFTER))
                self._next_poll[key] = now + timedelta(seconds=wait)
            if not isinstance(error, TransientError):
                self._report(key, logging.ERROR, "%s: polling dbt Cloud failed: %s", name, error)
                return None
            # A lasting answer (repeated 429s) is logged once, saying when the next poll is.
            wait = round((self._next_poll[key] - now).total_seconds())
            message = "%s: polling dbt Cloud failed: %s; the next poll is in %s seconds"
            self._report(key, logging.WARNING, message, name, error, wait, same=str(error))
            return None
        self._reported.pop(key, None)

        decision = decide(watermark, runs)
        with self.catalog.session(target.workspace_id) as session:
            record = target.load(session, lock=True)
            if record is None or _ids(record.schedule) != (account, job):
                return None
            state = schedule_state(session.orm, record, lock=True)
            if state.watermark != stored:
                # The schedule was edited while dbt Cloud was asked; poll afresh next time.
                return None
            state.watermark = decision.watermark
            if decision.trigger is None:
                if watermark is None:
                    logger.info(
                        "%s: watching dbt Cloud job %s for runs after %s",
                        name,
                        job,
                        decision.watermark,
                    )
                return None
            run_id = target.start(session, record)
            logger.info(
                "%s: dbt Cloud job %s run %s succeeded; queued run %s",
                name,
                job,
                decision.trigger.id,
                run_id,
                extra=target.log_extra(run_id=run_id),
            )
            return run_id

    def _report(
        self, key: _Key, level: int, message: str, *args: object, same: str | None = None
    ) -> None:
        """Log a problem unless it was the last one logged for ``key``; ``same`` is what
        makes two problems the same when the message holds more (the wait before a poll)."""
        text = message % args if same is None else same
        if self._reported.get(key) != text:
            self._reported[key] = text
            logger.log(level, message, *args)


def _ids(schedule: dict[str, Any] | None) -> tuple[str | None, str | None]:
    body = (schedule or {}).get("schedule") or {}
    account = (body.get("account") or {}).get("id")
    job = (body.get("job") or {}).get("id")
    return (
        str(account) if account is not None else None,
        str(job) if job is not None else None,
    )
