"""Commands about runs: run a sync now, list its runs, show its rejected rows."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from syncline.cli import output
from syncline.cli.context import open_catalog, workspace_for
from syncline.cli.exitcodes import for_run_status
from syncline.engine.report import RunStatus
from syncline.errors import StopSignal, UserError
from syncline.settings import load_settings

# The worker (the engine, the catalog, the connectors) and Rich are imported by the
# commands that run them: ``runs`` and ``rows`` need no engine, ``--help`` nothing.
if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from syncline.worker.execute import ProgressEvent

ABANDONED_NOTE = (
    "abandoned: its worker stopped; the next worker or `syncline run` of this sync "
    "interrupts it and resumes its work"
)

SyncArgument = Annotated[str, typer.Argument(help="The sync's slug or id.")]

ProjectOption = Annotated[
    Path | None,
    typer.Option(
        "--project",
        "-p",
        envvar="SYNCLINE_PROJECT",
        help="A project folder whose workspace to use [default: the current folder].",
    ),
]


def run(
    sync: SyncArgument,
    full_resync: Annotated[
        bool, typer.Option("--full-resync", help="Send every row as if it were the first run.")
    ] = False,
    reset_cdc: Annotated[
        bool, typer.Option("--reset-cdc", help="Take the current rows as synced; send nothing.")
    ] = False,
    clear_and_fill: Annotated[
        bool,
        typer.Option(
            "--clear-and-fill",
            help="Empty the destination's table, then send every row (table destinations).",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan and count only; write nothing.")
    ] = False,
    project: ProjectOption = None,
) -> None:
    """Run a sync now and show what it added, changed and removed."""
    from syncline.worker.execute import run_sync

    if full_resync and reset_cdc:
        raise UserError(
            "--full-resync and --reset-cdc conflict: --full-resync sends every row again, "
            "--reset-cdc takes the current rows as synced and sends nothing. Fix: pass one "
            "of them"
        )
    if clear_and_fill and reset_cdc:
        raise UserError(
            "--clear-and-fill and --reset-cdc conflict: --clear-and-fill empties the "
            "destination's object and sends every row, --reset-cdc takes the current rows as "
            "synced and sends nothing. Fix: pass one of them"
        )
    settings = load_settings()
    workspace = workspace_for(settings, project)
    from syncline.catalog.run_notes import reset_note

    try:
        with open_catalog(settings) as catalog, stopped_by_sigterm():
            with ProgressView(output.error_console()) as view:
                record = run_sync(
                    catalog, sync, full_resync=full_resync, reset_cdc=reset_cdc,
                    clear_and_fill=clear_and_fill, dry_run=dry_run, on_progress=view.update,
                    workspace=workspace, settings=settings,
                )  # fmt: skip
            with catalog.session(workspace, read_only=True) as session:
                ran = session.runs.get(record["id"])
                skipped = ran.skipped_null_keys or 0
                left = ran.left_in_destination or 0
                note = reset_note(ran)
    except StopSignal as stop:
        # The shell's code for a process ended by that signal (Ctrl-C gets 130 as usual).
        output.error_console().print(
            f"error: stopped by {stop.name}; the next run of this sync resumes its work"
        )
        raise typer.Exit(128 + stop.number) from None
    except KeyboardInterrupt:
        output.error_console().print(
            "error: stopped by the user (Ctrl-C); the next run of this sync resumes its work"
        )
        raise typer.Exit(128 + signal.SIGINT) from None

    print_run_summary(
        output.console(),
        record,
        dry_run=dry_run,
        skipped_null_keys=skipped,
        left_in_destination=left,
        sync=sync,
    )
    code = for_run_status(record["status"])
    if note is not None:
        output.console().print(f"Run {record['id']}: {note}")
    if record.get("error"):
        output.error_console().print(f"error: run {record['id']} failed: {record['error']}")
    raise typer.Exit(code)


@contextmanager
def stopped_by_sigterm() -> Iterator[None]:
    """While the block runs, SIGTERM stops it as Ctrl-C does (:class:`StopSignal`), so
    that ``docker stop``, systemd or a CI timeout leave the run interrupted and resumable
    rather than running in the catalog until its heartbeat goes stale."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set a signal handler
        return

    def stop(number: int, frame: object) -> None:
        StopSignal.received = StopSignal(signal.Signals(number).name, number)
        raise StopSignal.received

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        StopSignal.received = None


def print_run_summary(
    out: Console,
    record: dict[str, Any],
    *,
    dry_run: bool = False,
    skipped_null_keys: int = 0,
    left_in_destination: int = 0,
    sync: str = "SYNC",
) -> None:
    """The counts table of a finished run, then its size, duration, status, skipped rows
    and the records a full resync left in the destination (the fix names ``sync``)."""
    out.print(output.counts_table(record))
    duration = _duration(record)
    note = " (dry run: nothing was written)" if dry_run else ""
    out.print(
        f"Rows queried: {record['querySize'] if record['querySize'] is not None else '-'}   "
        f"Duration: {duration}   Status: {record['status']}{note}"
    )
    if skipped_null_keys:
        out.print(skipped_text(skipped_null_keys))
    if left_in_destination:
        out.print(
            f"{left_text(left_in_destination)}: their rows left the model, and a full resync "
            "removes nothing; no later run removes them either. Run a clear and fill "
            f"(`syncline run {sync} --clear-and-fill`, or clearAndFill in the API) to remove "
            "them."
        )


def skipped_text(count: int) -> str:
    """How many model rows a run left out because their primary key was NULL."""
    return f"{output.plural(count, 'row')} skipped: NULL primary key"


def left_text(count: int) -> str:
    """How many records a full resync left in the destination for rows the model lost."""
    return f"{output.plural(count, 'record')} left in the destination"


class ProgressView:
    """A Rich progress bar on stderr, driven by the run's stage and counters.

    Only a terminal shows one: elsewhere (cron, CI, a pipe) the view does nothing, and
    Rich's progress and live-display modules are not imported for it.
    """

    def __init__(self, console: Console) -> None:
        self.bar: Progress | None = None
        if not console.is_terminal:
            return

        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task = self.bar.add_task("queued", total=None)

    def __enter__(self) -> ProgressView:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def update(self, event: ProgressEvent) -> None:
        """Show the stage, and rows attempted out of rows planned."""
        if self.bar is None:
            return
        description = event.status.value
        if event.status == RunStatus.QUERYING and event.progress and event.progress.query_size:
            description = f"queried {event.progress.query_size} rows"
        if event.progress is None:
            self.bar.update(self.task, description=description)
            return
        planned = event.progress.planned.total
        attempted = event.progress.successful.total + event.progress.failed.total
        self.bar.update(
            self.task, description=description, total=planned or None, completed=attempted
        )


def runs(
    sync: SyncArgument,
    limit: Annotated[int, typer.Option(min=1, help="How many recent runs to show.")] = 10,
    project: ProjectOption = None,
) -> None:
    """Show the recent runs of a sync, newest first."""
    from syncline.worker.execute import find_sync
    from syncline.worker.recovery import is_abandoned

    settings = load_settings()
    workspace = workspace_for(settings, project)
    stale_after = timedelta(seconds=settings.worker_stale_seconds)
    with (
        open_catalog(settings) as catalog,
        catalog.session(workspace, read_only=True) as session,
    ):
        record = find_sync(session, sync)
        found = session.runs.list_runs(record, newest_first=True, limit=limit)
        shaped = [session.to_api(run) for run in found]
        # Listing changes nothing: a run whose worker stopped is only pointed out here;
        # the next worker or `syncline run` interrupts it and queues its resumption.
        notes = [
            _notes(
                run.dry_run,
                run.skipped_null_keys or 0,
                abandoned=is_abandoned(session, run, stale_after),
                full_resync=run.full_resync,
                left_in_destination=run.left_in_destination or 0,
                clear_and_fill=run.clear_and_fill,
                reset_cdc=run.reset_cdc,
                given_up=run.rejected_given_up or 0,
            )
            for run in found
        ]

    columns: tuple[str, ...] = ("run", "status", "started (UTC)", "duration", "queried")
    columns += ("planned a/c/r",)
    columns += ("succeeded a/c/r", "failed a/c/r", "notes", "error")
    rows = [
        (
            run["id"],
            run["status"],
            _time(run["startedAt"]),
            _duration(run),
            run["querySize"],
            _acr(run["plannedRows"]),
            _acr(run["successfulRows"]),
            _acr(run["failedRows"]),
            note,
            run.get("error"),
        )  # fmt: skip
        for run, note in zip(shaped, notes, strict=True)
    ]
    out = output.console()
    if not rows:
        out.print(f"Sync {sync!r} has not run yet; start it with `syncline run {sync}`.")
        return
    out.print(output.table(f"Runs of sync {sync}", columns, rows))


def rows(
    sync: SyncArgument,
    failed_given: Annotated[
        bool, typer.Option("--failed", help="Rows the destination rejected (the default).")
    ] = False,
    succeeded: Annotated[
        bool,
        typer.Option(
            "--succeeded", help="Rows the destination acknowledged, as many as the run kept."
        ),
    ] = False,
    run_id: Annotated[
        int | None,
        typer.Option(
            "--run",
            help="Only this run; default: rows still failing, or with --succeeded the latest run.",
        ),
    ] = None,
    project: ProjectOption = None,
) -> None:
    """Show rows the destination rejected (key, operation, reason, attempts) or acknowledged."""
    if succeeded and failed_given:
        raise UserError("--failed and --succeeded cannot be used together; choose one")
    if succeeded:
        _succeeded_rows(sync, run_id, project)
        return

    from syncline.catalog import rows as row_results
    from syncline.worker.execute import find_sync

    settings = load_settings()
    workspace = workspace_for(settings, project)
    with open_catalog(settings) as catalog, catalog.session(workspace, read_only=True) as session:
        record = find_sync(session, sync)
        found = session.runs.failed_rows(record, run_id)
        run = None if run_id is None else session.runs.get(run_id, sync=record)
        shaped = [
            (
                r.primary_key,
                r.operation,
                r.reason,
                r.attempts,
                r.run_id,
            )
            for r in found
        ]

    out = output.console()
    if not shaped and run is not None and row_results.pruned(run, settings.row_results_retention):
        out.print(
            f"The rejected rows of run {run_id} were pruned: row results are kept "
            f"{settings.row_results_retention_days} days after a run ends "
            "(SYNCLINE_ROW_RESULTS_RETENTION_DAYS)."
        )
        return
    if not shaped:
        scope = f"run {run_id}" if run_id is not None else f"sync {sync!r}"
        out.print(f"No rejected rows in {scope}.")
        return
    columns = ("key", "operation", "reason", "attempts", "run")
    out.print(output.table(f"Rejected rows of sync {sync}", columns, shaped))


_RECENT_RUNS = 50
"""How many of a sync's newest runs ``rows --succeeded`` looks through for one that sent
rows (queued and dry runs send none)."""


def _succeeded_rows(sync: str, run_id: int | None, project: Path | None) -> None:
    """Print the succeeded rows a run kept, and say when it kept fewer than it had."""
    from syncline.worker.execute import find_sync

    settings = load_settings()
    workspace = workspace_for(settings, project)
    with open_catalog(settings) as catalog, catalog.session(workspace, read_only=True) as session:
        record = find_sync(session, sync)
        if run_id is None:
            # The newest run may be queued, or a dry run, which sends no row.
            latest = session.runs.list_runs(record, newest_first=True, limit=_RECENT_RUNS)
            started = [r for r in latest if r.status != RunStatus.QUEUED and not r.dry_run]
            if not started:
                raise UserError(
                    f"sync {sync!r} has no run with rows yet; start one with `syncline run {sync}`"
                )
            run_id = started[0].id
        dry_run = session.runs.get(run_id, sync=record).dry_run
        found = session.runs.row_results(run_id, status="succeeded")
        kept = session.runs.succeeded_kept(run_id)
        shaped = [(r.primary_key, r.operation, r.attempts) for r in found]

    out = output.console()
    if shaped:
        title = f"Succeeded rows of run {run_id} of sync {sync}"
        out.print(output.table(title, ("key", "operation", "attempts"), shaped))
    elif dry_run:
        out.print(f"Run {run_id} was a dry run: it sent no rows.")
    else:
        out.print(f"No succeeded rows kept for run {run_id}.")
    if kept.truncated and kept.limit is None:
        out.print(f"Run {run_id} had {kept.total} succeeded rows; it ran before they were kept.")
    elif kept.truncated:
        out.print(
            f"Run {run_id} had {kept.total} succeeded rows and {kept.kept} are kept: a run "
            f"keeps the first {kept.limit} (SYNCLINE_SUCCEEDED_ROWS_PER_RUN), and row results "
            f"are kept {settings.row_results_retention_days} days after a run ends."
        )


def _notes(
    dry_run: bool,
    skipped_null_keys: int,
    *,
    abandoned: bool = False,
    full_resync: bool = False,
    left_in_destination: int = 0,
    clear_and_fill: bool = False,
    reset_cdc: bool = False,
    given_up: int = 0,
) -> str | None:
    notes = ["dry run: nothing written"] if dry_run else []
    if full_resync:
        # Asked for, or taken on by a run that found its destination's object gone.
        notes.append("full resync")
    if clear_and_fill:
        notes.append("clear and fill")
    if reset_cdc:
        notes.append("CDC reset: nothing sent")
        if given_up:
            notes.append(f"{given_up} rejected row{'s' if given_up != 1 else ''} no longer retried")
    if abandoned:
        notes.append(ABANDONED_NOTE)
    if skipped_null_keys:
        notes.append(skipped_text(skipped_null_keys))
    if left_in_destination:
        notes.append(f"{left_text(left_in_destination)} (--clear-and-fill removes them)")
    return "; ".join(notes) or None


def _acr(counts: dict[str, int]) -> str:
    return f"{counts['addedCount']}/{counts['changedCount']}/{counts['removedCount']}"


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


def _duration(run: dict[str, Any]) -> str:
    started, finished = run.get("startedAt"), run.get("finishedAt")
    if not started or not finished:
        return "-"
    seconds = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    return f"{seconds:.1f}s"
