"""Runs of syncs: trigger them, list them, cancel them, and read their row results.

A trigger only queues a run; a worker executes it. A sync has at most one active run
and one queued run behind it, so a trigger during a run returns the run already
queued (with the new flags added to it) rather than a third one (API.md 6.5); a
trigger whose flags contradict the queued run's is refused (422) naming that run.

Trigger bodies come as JSON, as ``application/x-www-form-urlencoded`` (Airflow's HTTP
hook sends that) or not at all; the official Python SDK sends the JSON ``null`` when
given no flags. A JSON flag is ``true`` or ``false`` (null or absent: false); a form's
flags are text, so there ``"true"``, ``"1"``, ``"false"``, ``"0"`` and ``""`` are read.
Ids in paths and queries are numbers, and the SDK writes them as floats
(``/syncs/5.0/runs?runId=7.0``), so whole decimals are accepted.
"""

from __future__ import annotations

import json
import logging
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BeforeValidator, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

from syncline.api.booleans import not_a_boolean
from syncline.api.deps import ReadSession, WriteSession
from syncline.api.errors import (
    COMMON_RESPONSES,
    CONFLICT,
    FORM_MEDIA,
    NOT_FOUND,
    not_json,
    not_json_media,
)
from syncline.api.listing import PagingDep
from syncline.api.run_schemas import (
    RowResultPage,
    RunOrderBy,
    SyncRun,
    TriggerRunCustomInput,
    TriggerRunInput,
    TriggerRunOutput,
)
from syncline.api.schemas import MAX_ID, Page
from syncline.catalog import CatalogSession, RunTrigger
from syncline.catalog.errors import ConflictError
from syncline.catalog.tables import RunRecord, SyncRecord
from syncline.connectors import registry
from syncline.engine.report import RunStatus
from syncline.errors import NotFoundError, Problem, ValidationError
from syncline.numerals import whole_number

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/syncs", tags=["sync runs"], responses=COMMON_RESPONSES)

DISABLED_FIX = "enable it with PATCH /syncs/{id} and disabled: false, then trigger it"
"""The fix of a trigger of a disabled sync; the web UI words it for its Enable button."""


def _finite(value: Any) -> Any:
    """``value`` unless it reads as NaN or an infinity: floats, but no id, and refused as
    such rather than as out of range."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value  # not a number at all: pydantic says so in its own words
    if not math.isfinite(number):
        raise PydanticCustomError("int_type", "an id must be an integer, such as 7")
    return value


WholeNumber = Annotated[float, BeforeValidator(_finite), Path(ge=1, le=MAX_ID)]
"""An id in a path: a number, which the official SDK may write as ``5.0``."""


Instant = Annotated[
    str | None,
    Query(
        description="An ISO 8601 time; one without a zone is UTC.",
        json_schema_extra={"format": "date-time"},
    ),
]
"""A time in a query, parsed by :func:`_instant`."""


_DATETIME = TypeAdapter(datetime)
_NUMBER = re.compile(r"[-+]?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?")

_FLAGS = {
    "fullResync": "full_resync",
    "resetCDC": "reset_cdc",
    "clearAndFill": "clear_and_fill",
    "dryRun": "dry_run",
}


def _trigger_body_doc(model: type[TriggerRunInput], *, required: bool) -> dict[str, Any]:
    schema = model.model_json_schema()
    content = {"application/json": {"schema": schema}, FORM_MEDIA: {"schema": schema}}
    return {"requestBody": {"required": required, "content": content}}


class FormFields(dict[str, str]):
    """A trigger body sent as a form, whose flags can only be text (``"true"``, ``"1"``)."""


async def trigger_body(request: Request) -> dict[str, Any]:
    """The trigger's body as a dict: JSON, a form, or nothing (an empty dict)."""
    raw = await request.body()
    if not raw.strip():
        return {}
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == FORM_MEDIA:
        try:
            return FormFields(parse_qsl(raw.decode(), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            raise _invalid("body", "the form body cannot be read", None) from None
    if media and media != "application/json" and not media.endswith("+json"):
        raise _invalid("body", not_json_media(media, form=True), media)
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise _invalid("body", not_json(exc), None) from None
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        raise _invalid("body", "the body must be a JSON object", parsed)
    return parsed


TriggerBody = Annotated[dict[str, Any], Depends(trigger_body)]


@router.post(
    "/{syncId}/trigger",
    operation_id="TriggerRun",
    response_model=TriggerRunOutput,
    responses=NOT_FOUND,
    openapi_extra=_trigger_body_doc(TriggerRunInput, required=False),
)
def trigger_run(syncId: str, body: TriggerBody, session: WriteSession) -> Any:
    """Queue a run of the sync; during a run, the one run queued behind it is returned.

    A trigger whose flags contradict that queued run (a run that writes behind a dry run,
    or the reverse) is a 422 naming it.
    """
    return queue_run(session, syncId, body, triggered_by="api")


def queue_run(
    session: CatalogSession, sync_id: str, body: dict[str, Any], *, triggered_by: str
) -> dict[str, str]:
    """Queue a run of the sync whose id ``sync_id`` spells, as the trigger route does;
    ``triggered_by`` records who asked (``api``, or ``ui`` for the web UI's buttons)."""
    sync = _sync_by_id(session, sync_id, "path.syncId")
    number = whole_number(sync_id)
    sent = sync_id if number is None else number
    return _trigger(session, sync, body, ("path.syncId", sent), triggered_by)


@router.post(
    "/trigger",
    operation_id="TriggerRunCustom",
    response_model=TriggerRunOutput,
    responses=NOT_FOUND,
    openapi_extra=_trigger_body_doc(TriggerRunCustomInput, required=True),
)
def trigger_run_custom(body: TriggerBody, session: WriteSession) -> Any:
    """Queue a run of the sync named by ``syncId`` or ``syncSlug`` in the body."""
    sync_id, slug = body.get("syncId"), body.get("syncSlug")
    if sync_id in (None, "") and slug in (None, ""):
        raise _invalid("body", "name the sync to run with syncId or syncSlug", None)

    by_id = by_slug = None
    if sync_id not in (None, ""):
        if isinstance(sync_id, bool) or not isinstance(sync_id, str | int):
            raise _invalid("body.syncId", "syncId must be a string of digits", sync_id)
        by_id = _sync_by_id(session, str(sync_id), "body.syncId", digits_only=True)
    if slug not in (None, ""):
        if not isinstance(slug, str):
            raise _invalid("body.syncSlug", "syncSlug must be a string", slug)
        by_slug = session.syncs.get(slug)
    if by_id is not None and by_slug is not None and by_id.id != by_slug.id:
        raise _invalid(
            "body.syncSlug",
            f"syncSlug names sync {by_slug.id} but syncId names sync {by_id.id}; send one of them",
            slug,
        )
    sync = by_id or by_slug
    assert sync is not None
    named = ("body.syncId", sync_id) if by_id is not None else ("body.syncSlug", slug)
    return _trigger(session, sync, body, named)


@router.get(
    "/{syncId}/runs",
    operation_id="ListSyncRuns",
    response_model=Page[SyncRun],
    responses=NOT_FOUND,
)
def list_sync_runs(
    syncId: WholeNumber,
    session: ReadSession,
    paging: PagingDep,
    runId: Annotated[float | None, BeforeValidator(_finite), Query(ge=1, le=MAX_ID)] = None,
    after: Instant = None,
    before: Instant = None,
    within: Annotated[
        float | None, Query(ge=0, le=10**8, description="Runs started in the last minutes.")
    ] = None,
    orderBy: RunOrderBy = RunOrderBy.id,
) -> Any:
    """List the runs of a sync, ascending by ``orderBy``; ``runId`` asks for one run."""
    sync = session.syncs.get(_whole(syncId, "path.syncId"))
    run_id = _whole(runId, "query.runId") if runId is not None else None
    since = _instant(after, "query.after")
    if within is not None:
        recent = datetime.now(UTC) - timedelta(minutes=within)
        since = max(since, recent) if since is not None else recent
    records = session.runs.list_runs(
        sync,
        run_id=run_id,
        after=since,
        before=_instant(before, "query.before"),
        offset=paging.offset,
        limit=paging.fetch,
        order_by=orderBy.value,
    )
    return paging.page(records, session.to_api)


@router.post(
    "/{syncId}/runs/{runId}/cancel",
    operation_id="CancelSyncRun",
    response_model=SyncRun,
    responses={**NOT_FOUND, **CONFLICT},
)
def cancel_sync_run(syncId: WholeNumber, runId: WholeNumber, session: WriteSession) -> Any:
    """Cancel a run: a queued one at once, a running one at its next batch boundary.

    Returns the run as it is now; a running run shows its stage until its worker stops.
    Cancelling a cancelled run again changes nothing; a run that ended otherwise is 409.
    """
    sync = session.syncs.get(_whole(syncId, "path.syncId"))
    run = session.runs.get(_whole(runId, "path.runId"), sync=sync)
    status = RunStatus(run.status)
    if status.terminal and status is not RunStatus.CANCELLED:
        raise ConflictError(
            f"run {run.id} already finished as {status.value}; only a queued or running run "
            "can be cancelled",
            where="runId",
        )
    if not status.terminal:
        run = session.runs.request_cancel(run.id)
        logger.info("run %s of sync %s: cancel requested over the API", run.id, sync.id)
    return session.to_api(run)


@router.get(
    "/{syncId}/runs/{runId}/rows",
    operation_id="ListSyncRunRows",
    response_model=RowResultPage,
    responses=NOT_FOUND,
)
def list_sync_run_rows(
    syncId: WholeNumber,
    runId: WholeNumber,
    session: ReadSession,
    paging: PagingDep,
    status: Annotated[str | None, Query(pattern="^(failed|succeeded)$")] = None,
    op: Annotated[str | None, Query(pattern="^(added|changed|removed)$")] = None,
) -> Any:
    """Row results of a run: key, operation, status, reason and attempts, in order.

    Every rejected row is kept, but succeeded rows only up to the run's limit, the first
    delivered: ``succeededRows`` says how many are kept of how many, so a short list of
    succeeded rows is never mistaken for the whole run.
    """
    sync = session.syncs.get(_whole(syncId, "path.syncId"))
    run = session.runs.get(_whole(runId, "path.runId"), sync=sync)
    records = session.runs.row_results(
        run.id, status=status, operation=op, offset=paging.offset, limit=paging.fetch
    )
    page = paging.page(records, session.to_api)
    page["succeededRows"] = _succeeded_rows(session, run, op)
    return page


# -- helpers ----------------------------------------------------------------------------------


def _succeeded_rows(session: CatalogSession, run: RunRecord, op: str | None) -> dict[str, Any]:
    """How many of the run's succeeded rows (of ``op``) are kept, of how many, and the limit."""
    found = session.runs.succeeded_kept(run.id, op)
    return {
        "kept": found.kept,
        "total": found.total,
        "limitPerRun": found.limit,
        "truncated": found.truncated,
    }


def _trigger(
    session: CatalogSession,
    sync: SyncRecord,
    body: dict[str, Any],
    named: tuple[str, Any],
    triggered_by: str = "api",
) -> dict[str, str]:
    """Queue a run of ``sync``; ``named`` is where the request named it, and as what."""
    location, sent = named
    trigger = _flags(body)
    problems: list[Problem] = []
    if sync.disabled:
        problems.append(
            Problem(
                location,
                f"sync {sync.id} is disabled",
                fix=DISABLED_FIX,
                value=sent,
            )
        )
    if trigger.clear_and_fill:
        destination = session.destinations.get(sync.destination_id)
        if not registry.destination_class(destination.type).capabilities.clears_objects:
            problems.append(
                Problem(
                    "body.clearAndFill",
                    f"destination {destination.slug!r} ({destination.type}) cannot empty "
                    "its object, so it cannot clear and fill",
                    fix="trigger a full resync (fullResync) instead",
                    value=True,
                )
            )
    if problems:
        raise ValidationError(problems)

    try:
        run = session.runs.enqueue(sync, trigger, triggered_by=triggered_by)
    except ValidationError as exc:
        # The queue's problem concerns the body as a whole: its flags against the queued run's.
        raise ValidationError(
            [Problem("body", p.message, p.fix, value=p.value) for p in exc.problems]
        ) from None
    session.flush()
    return {"id": str(run.id)}


_KNOWN_KEYS = frozenset(_FLAGS) | {"syncId", "syncSlug"}


def _flags(body: dict[str, Any]) -> RunTrigger:
    """The trigger flags of a body; every bad flag and every conflict is one problem.

    Keys the API does not know are tolerated, as Hightouch's schema allows them, but
    logged (names only), so a misspelt flag such as ``fullresync`` can be found.
    """
    unknown = sorted(str(key)[:40] for key in body if key not in _KNOWN_KEYS)
    if unknown:
        logger.info("trigger body: ignored unknown keys %s", ", ".join(unknown[:10]))
    problems: list[Problem] = []
    values: dict[str, bool] = {}
    read = _form_flag if isinstance(body, FormFields) else _json_flag
    for name, attribute in _FLAGS.items():
        # A null flag is an unset one: generated clients send null for options left out.
        value = read(body[name]) if body.get(name) is not None else False
        if value is None:
            message = not_a_boolean(name, body.get(name))
            problems.append(Problem(f"body.{name}", message, value=body.get(name)))
        values[attribute] = bool(value)
    if values["reset_cdc"]:
        for other in ("fullResync", "clearAndFill"):
            if values[_FLAGS[other]]:
                problems.append(
                    Problem(
                        "body.resetCDC",
                        f"resetCDC (send nothing) and {other} (send every row) conflict",
                        fix="ask for one of them",
                        value=True,
                    )
                )
    if problems:
        raise ValidationError(problems)
    return RunTrigger(**values)


def _json_flag(value: object) -> bool | None:
    """A flag of a JSON body: true or false (None: neither)."""
    return value if isinstance(value, bool) else None


def _form_flag(value: object) -> bool | None:
    """A flag of a form body, which holds only text: the words forms use for booleans."""
    if value is None:
        return False
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0", ""):
            return False
    return None


def _sync_by_id(
    session: CatalogSession, text: str, location: str, *, digits_only: bool = False
) -> SyncRecord:
    """The sync whose id ``text`` spells; a string that is no id names no sync (404)."""
    text = text.strip()
    if digits_only and whole_number(text) is None:
        raise _invalid(location, 'syncId must be a string of digits, e.g. "42"', text)
    try:
        number = float(text)
    except ValueError:
        raise NotFoundError("sync", text) from None
    if not number.is_integer() or not 1 <= number <= MAX_ID:
        raise NotFoundError("sync", text)
    return session.syncs.get(int(number))


def _whole(value: float, location: str) -> int:
    if not value.is_integer():
        raise _invalid(location, f"{location.split('.')[-1]} must be a whole number", value)
    return int(value)


def _instant(text: str | None, location: str) -> datetime | None:
    """An ISO 8601 time from a query; one without a zone is UTC, as schedules are.

    Parsed here rather than by FastAPI, which would also take a bare number as a Unix
    time where the API promises a date-time.
    """
    if text is None:
        return None
    try:
        if _NUMBER.fullmatch(text.strip()):
            raise ValueError(text)
        value = _DATETIME.validate_python(text)
    except (ValueError, PydanticValidationError):
        raise _invalid(
            location, f"{location.split('.')[-1]} must be an ISO 8601 time such as "
            "2024-01-31T09:30:00Z", text,
        ) from None  # fmt: skip
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _invalid(location: str, message: str, value: object) -> ValidationError:
    return ValidationError([Problem(location, message, value=value)])
