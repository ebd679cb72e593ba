"""Commands about sync sequences: list them, and run one to its end in this process.

``syncline sequences run`` moves the sequence with the same state machine the
scheduler uses (:func:`~syncline.scheduling.sequences.advance_run`) and executes each
step's sync run here, as ``syncline run`` does. A step whose run a worker leased
first is waited for instead, so a run is never executed twice.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from syncline.cli import output
from syncline.cli.context import open_catalog, workspace_for
from syncline.cli.exitcodes import ExitCode
from syncline.cli.run_commands import ProgressView, ProjectOption, print_run_summary
from syncline.engine.report import RunStatus
from syncline.errors import RunError
from syncline.settings import Settings, load_settings

# The catalog, the scheduler and the worker are imported when a sequence runs, so that
# starting another command does not load them.
if TYPE_CHECKING:
    from syncline.catalog import Catalog
    from syncline.catalog.sequences import SequenceStatus

logger = logging.getLogger(__name__)

WAIT_SECONDS = 0.5
"""How often to look again while a step's run, or another run of the sequence, is going."""


def list_sequences(project: ProjectOption = None) -> None:
    """List every sync sequence with its steps, schedule and latest run."""
    settings = load_settings()
    workspace = workspace_for(settings, project)
    with open_catalog(settings) as catalog, catalog.session(workspace, read_only=True) as session:
        syncs = {sync.id: sync.slug for sync in session.syncs.list()}
        rows = []
        for sequence in session.sequences.list(order_by="slug"):
            steps = " → ".join(
                f"{syncs[step.sync_id]} ({step.stop_on})"
                for step in session.sequences.steps(sequence)
            )
            latest = session.sequences.list_runs(sequence.id, newest_first=True, limit=1)
            rows.append(
                (
                    sequence.slug,
                    sequence.name,
                    steps,
                    (sequence.schedule or {}).get("type", "manual"),
                    "yes" if sequence.disabled else "no",
                    latest[0].status if latest else "never run",
                )
            )

    out = output.console()
    if not rows:
        out.print(
            f"No sync sequences in workspace {workspace!r} yet; declare some under "
            "'sequences:' in a project and run `syncline apply`."
        )
        return
    columns = ("slug", "name", "steps (stop on)", "schedule", "disabled", "last run")
    out.print(output.table(f"Sync sequences of workspace {workspace}", columns, rows))


def run_sequence(
    name: Annotated[str, typer.Argument(help="The sequence's slug or id.")],
    project: ProjectOption = None,
) -> None:
    """Run a sync sequence now, step by step, and show each step's result."""
    settings = load_settings()
    workspace = workspace_for(settings, project)
    with open_catalog(settings) as catalog:
        with catalog.session(workspace) as session:
            sequence = session.sequences.get(name)
            slug, total = sequence.slug, len(session.sequences.steps(sequence))
            run_id = session.sequences.trigger(sequence.id, triggered_by="cli").id
        output.console().print(f"Sequence {slug!r}: run {run_id}, {output.plural(total, 'step')}")
        runner = _SequenceRunner(catalog, settings, workspace, run_id, total)
        try:
            status, error, outcomes = runner.run()
        except KeyboardInterrupt:
            runner.stop()
            raise

    out = output.console()
    out.print(f"Sequence {slug!r} run {run_id}: {status.value}")
    if error:
        output.error_console().print(f"error: sequence {slug!r} {status.value}: {error}")
    raise typer.Exit(_exit_code(status, outcomes))


def _exit_code(status: SequenceStatus, outcomes: list[RunStatus]) -> ExitCode:
    """As ``syncline run``: 0 done, 3 done with rejected rows, 1 failed or cancelled.

    A step whose ``stopOn`` is ``never`` was declared not to matter, so its failure
    leaves a ``done`` sequence at 0.
    """
    from syncline.catalog.sequences import SequenceStatus

    if status != SequenceStatus.DONE:
        return ExitCode.RUN_FAILED
    if RunStatus.WARNING in outcomes:
        return ExitCode.ROWS_REJECTED
    return ExitCode.OK


class _SequenceRunner:
    """Drives one sequence run: advance, execute or wait for the step's run, report it."""

    def __init__(
        self, catalog: Catalog, settings: Settings, workspace: str, run_id: str, total: int
    ) -> None:
        self.catalog = catalog
        self.settings = settings
        self.workspace = workspace
        self.run_id = run_id
        self.total = total
        self.announced: set[int] = set()
        self.reported: set[int] = set()
        self.outcomes: list[RunStatus] = []
        self.current: int | None = None
        self.waiting_shown = False

    def run(self) -> tuple[SequenceStatus, str | None, list[RunStatus]]:
        """Move the run until it ends; its status, error, and each step's run status."""
        from syncline.catalog.sequences import SequenceStatus
        from syncline.scheduling.sequences import advance_run

        while True:
            status = advance_run(self.catalog, self.run_id, self.workspace)
            self._report_finished_steps()
            if status is not None and status.terminal:
                with self.catalog.session(self.workspace, read_only=True) as session:
                    error = session.sequences.get_run(self.run_id).error
                return status, error, self.outcomes
            if status == SequenceStatus.RUNNING and self._execute_current_step():
                continue
            if status == SequenceStatus.PENDING and not self.waiting_shown:
                output.error_console().print("another run of this sequence is going; waiting")
                self.waiting_shown = True
            time.sleep(WAIT_SECONDS)

    def stop(self) -> None:
        """After Ctrl-C: mark the step's run interrupted and cancel the sequence run."""
        from syncline.scheduling.sequences import advance_run

        with self.catalog.session(self.workspace) as session:
            if self.current is not None:
                run = session.runs.get(self.current)
                if not RunStatus(run.status).terminal:
                    session.runs.finish(
                        self.current, RunStatus.INTERRUPTED, error="stopped by the user "
                        "(Ctrl-C); the next run of this sync resumes where this one stopped",
                    )  # fmt: skip
            session.sequences.cancel(self.run_id)
        advance_run(self.catalog, self.run_id, self.workspace)

    def _execute_current_step(self) -> bool:
        """Lease and execute the current step's queued run; False when there is none."""
        from syncline.catalog import ConflictError
        from syncline.worker.execute import execute_leased, worker_name

        with self.catalog.session(self.workspace) as session:
            started = session.sequences.run_steps(session.sequences.get_run(self.run_id))
            if not started:
                return False
            step, sync_run = started[-1]
            if sync_run.status != RunStatus.QUEUED:
                return False  # a worker has it, or it ended: the next advance sees it
            try:
                session.runs.start(sync_run.id, worker_name())
            except RunError:
                return False  # a worker leased it between our look and our lease
            except ConflictError:
                # The sync is busy with another run (from a worker or a person); wait.
                logger.debug("run %s of sync %s waits for the sync", sync_run.id, step.sync_id)
                return False
            sync = session.syncs.get(step.sync_id)
            label = f"Step {step.position + 1}/{self.total}: sync {sync.slug!r}, run {sync_run.id}"

        output.console().print(label)
        self.announced.add(sync_run.id)
        self.current = sync_run.id
        with ProgressView(output.error_console()) as view:
            execute_leased(self.catalog, sync_run.id, self.settings, on_progress=view.update)
        self.current = None
        return True

    def _report_finished_steps(self) -> None:
        with self.catalog.session(self.workspace, read_only=True) as session:
            started = session.sequences.run_steps(session.sequences.get_run(self.run_id))
            finished: list[tuple[str, dict[str, Any], int, int]] = [
                (
                    f"Step {step.position + 1}/{self.total}: sync "
                    f"{session.syncs.get(step.sync_id).slug!r}, run {sync_run.id}",
                    session.to_api(sync_run),
                    sync_run.skipped_null_keys or 0,
                    sync_run.left_in_destination or 0,
                )
                for step, sync_run in started
                if RunStatus(sync_run.status).terminal and sync_run.id not in self.reported
            ]
        out = output.console()
        for label, record, skipped, left in finished:
            self.reported.add(record["id"])
            self.outcomes.append(RunStatus(record["status"]))
            if record["id"] not in self.announced:
                # A worker executed this step; say which it was before its result.
                out.print(label)
            print_run_summary(out, record, skipped_null_keys=skipped, left_in_destination=left)
            if record.get("error"):
                output.error_console().print(f"error: run {record['id']}: {record['error']}")
