"""dbt Cloud schedules: read a job's runs over the API v2, and decide whether a sync runs.

A sync with a ``dbt`` schedule runs when a NEW successful run of its dbt Cloud job
appears. The schedule state keeps a watermark, the id of the newest finished job run
already looked at: the first poll only sets it (a job that succeeded last week is no
reason to run now), runs still in progress are left for a later poll, and a failed or
cancelled run moves the watermark without triggering anything. dbt Cloud runs the runs
of one job one after another, so no older run can finish after a newer one was seen;
several successes between two polls start one run.

Where dbt Cloud is: ``SYNCLINE_DBT_CLOUD_URL`` (the account's access URL, e.g. the
multi-tenant one or a regional one) and ``SYNCLINE_DBT_CLOUD_TOKEN`` (a read-only
service token is enough), set for the whole installation. There is no default URL:
nothing is contacted until an operator names one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from syncline.connectors.retry_after import retry_after
from syncline.errors import TerminalError, TransientError

logger = logging.getLogger(__name__)

SUCCESS = 10
"""dbt Cloud's run status for a run that succeeded."""
FINISHED = frozenset({10, 20, 30})
"""Statuses of runs that will not change any more: success, error, cancelled."""

PAGE_SIZE = 100
"""Runs asked for per request; the API returns at most 100."""
MAX_PAGES = 20
"""Pages read per poll at most; a watermark further back than this is moved forward."""

_CONNECTOR = "dbt Cloud"


@dataclass(frozen=True)
class JobRun:
    """One run of a dbt Cloud job, as far as scheduling cares."""

    id: int
    status: int


@dataclass(frozen=True)
class Decision:
    """What one poll means for a sync: the new watermark, and the run that triggers it."""

    watermark: str
    trigger: JobRun | None


def decide(watermark: str | None, runs: Iterable[JobRun]) -> Decision:
    """Compare a job's runs with the stored watermark (the newest finished run seen)."""
    finished = [run for run in runs if run.status in FINISHED]
    newest = max((run.id for run in finished), default=0)
    if watermark is None:
        return Decision(str(newest), None)

    seen = int(watermark)
    fresh = [run for run in finished if run.id > seen]
    successes = [run for run in fresh if run.status == SUCCESS]
    trigger = max(successes, key=lambda run: run.id, default=None)
    return Decision(str(max(newest, seen)), trigger)


class DbtCloudClient:
    """A read-only client of the dbt Cloud API v2 for one access URL and token."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Token {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> DbtCloudClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def job_runs(
        self, account_id: str, job_id: str, *, newer_than: int | None = None
    ) -> list[JobRun]:
        """Runs of the job, newest first; stops paging at the first run not newer than
        ``newer_than`` (with None, only the first page is read)."""
        path = f"/api/v2/accounts/{account_id}/runs/"
        found: list[JobRun] = []
        for page in range(MAX_PAGES):
            params = {
                "job_definition_id": job_id,
                "order_by": "-id",
                "limit": PAGE_SIZE,
                "offset": page * PAGE_SIZE,
            }
            body = self._get(path, params, account_id=account_id, job_id=job_id)
            batch = [_job_run(item) for item in body.get("data") or []]
            found.extend(batch)

            total = ((body.get("extra") or {}).get("pagination") or {}).get("total_count")
            done = (
                newer_than is None
                or len(batch) < PAGE_SIZE
                or any(run.id <= newer_than for run in batch)
                or (isinstance(total, int) and len(found) >= total)
            )
            if done:
                break
        logger.debug("dbt Cloud job %s: read %s run(s)", job_id, len(found))
        return found

    def _get(
        self, path: str, params: dict[str, Any], *, account_id: str, job_id: str
    ) -> dict[str, Any]:
        try:
            response = self._http.get(path, params=params)
        except httpx.TransportError as error:
            raise TransientError(
                f"dbt Cloud at {self.base_url} is unreachable ({type(error).__name__})",
                connector=_CONNECTOR,
            ) from error

        status = response.status_code
        if status in (401, 403):
            raise TerminalError(
                f"dbt Cloud refused the token (HTTP {status}) for account {account_id}; set "
                "SYNCLINE_DBT_CLOUD_TOKEN to a token that can read that account's runs",
                connector=_CONNECTOR,
            )
        if status == 404:
            raise TerminalError(
                f"dbt Cloud has no account {account_id} or job {job_id} at {self.base_url} "
                "(HTTP 404); check the schedule's account and job ids and "
                "SYNCLINE_DBT_CLOUD_URL",
                connector=_CONNECTOR,
            )
        if status == 429 or status >= 500:
            raise TransientError(
                f"dbt Cloud answered HTTP {status}",
                connector=_CONNECTOR,
                retry_after=_retry_after(response),
            )
        if status >= 400:
            raise TerminalError(
                f"dbt Cloud answered HTTP {status} to the list of runs: {response.text[:200]}",
                connector=_CONNECTOR,
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise TransientError(
                f"dbt Cloud at {self.base_url} did not answer with a JSON object; "
                "check SYNCLINE_DBT_CLOUD_URL",
                connector=_CONNECTOR,
            )
        return body


def _job_run(item: Any) -> JobRun:
    try:
        return JobRun(id=int(item["id"]), status=int(item["status"]))
    except (KeyError, TypeError, ValueError):
        raise TransientError(
            "dbt Cloud listed a run without a numeric id and status",
            connector=_CONNECTOR,
        ) from None


def _retry_after(response: httpx.Response) -> float | None:
    return retry_after(response.headers.get("Retry-After"), now=time.time())
