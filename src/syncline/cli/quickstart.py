"""The one-command tour: sample warehouse, apply, sync, change the warehouse, sync again."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from syncline.cli import output
from syncline.cli.context import open_catalog
from syncline.cli.exitcodes import ExitCode, for_run_status
from syncline.cli.run_commands import ProgressView, print_run_summary
from syncline.engine.planner.store import delete_snapshot
from syncline.project.apply import apply_project
from syncline.project.loader import load_project
from syncline.quickstart.scaffold import (
    OUTPUT_DIR,
    WAREHOUSE_FILE,
    create_quickstart,
    is_quickstart,
    reset_sample,
)
from syncline.quickstart.warehouse import apply_sample_changes
from syncline.settings import load_settings
from syncline.worker.execute import run_sync

logger = logging.getLogger(__name__)


def run_quickstart(folder: Path) -> int:
    """Run the tour in ``folder``; a folder an earlier quickstart made is reset and reused.

    Returns the exit code.
    """
    settings = load_settings()
    out = output.console()

    out.rule("Syncline quickstart")
    reused = is_quickstart(folder)
    if reused:
        reset_sample(folder)
        out.print(
            f"1. Reusing the sample project in {folder}/: its warehouse and output folder "
            "were reset (your YAML files were kept). To start afresh, delete the folder "
            "or give another one: syncline quickstart OTHER-FOLDER."
        )
    else:
        create_quickstart(folder)
        out.print(f"1. Created a sample project in {folder}/ with a DuckDB warehouse of customers.")

    project = load_project(folder)
    codes: list[int] = []
    with open_catalog(settings) as catalog:
        plan = apply_project(catalog, project, settings)
        out.print(
            f"2. Applied the project to workspace {project.workspace!r} of the catalog in "
            f"{settings.home}/:"
        )
        output.print_plan(out, plan, applied=True)
        if reused:
            _forget_snapshots(catalog, project, settings)

        # A full resync makes the first run send every row, even when a catalog kept from
        # an earlier quickstart still holds a snapshot for these syncs.
        out.print("3. First run of each sync: every active customer is new.")
        for slug in project.syncs:
            codes.append(_run(catalog, project, slug, settings, out, full_resync=True))

        changes = apply_sample_changes(folder / WAREHOUSE_FILE)
        out.print(
            "4. Changed the warehouse: 5 customers moved to a new plan, 3 were deleted, "
            "1 was deactivated and 4 signed up."
        )
        out.print(
            f"   The model should now show {changes.added} added, {changes.changed} changed "
            f"and {changes.removed} removed rows."
        )

        out.print("5. Second run of each sync: only the changes are sent.")
        for slug in project.syncs:
            codes.append(_run(catalog, project, slug, settings, out, full_resync=False))

    result = folder / OUTPUT_DIR
    out.rule("Where to look")
    out.print(f"SQLite table:  sqlite3 {result / 'crm.sqlite'} 'SELECT * FROM contacts LIMIT 5'")
    out.print(f"CSV file:      {result / 'customers.csv'}")
    out.print(f"Run history:   syncline runs customers-to-crm --project {folder}")
    out.print(f"Try more:      edit {folder}/syncs.yml, then syncline apply --project {folder}")
    return max(codes, default=ExitCode.OK)


def _forget_snapshots(catalog: Any, project: Any, settings: Any) -> None:
    # The reset warehouse starts over, so the syncs start over too: their first run
    # sends every row to the emptied output folder.
    with catalog.session(project.workspace, read_only=True) as session:
        ids = [session.syncs.get(slug).id for slug in project.syncs]
    for sync_id in ids:
        delete_snapshot(settings.snapshot_dir, sync_id)


def _run(
    catalog: Any, project: Any, slug: str, settings: Any, out: Any, *, full_resync: bool
) -> int:
    with ProgressView(output.error_console()) as view:
        record = run_sync(
            catalog, slug, full_resync=full_resync, on_progress=view.update,
            workspace=project.workspace, settings=settings,
        )  # fmt: skip
    out.print(f"Sync {slug}:")
    print_run_summary(out, record)
    if record.get("error"):
        output.error_console().print(f"error: run {record['id']} failed: {record['error']}")
    return int(for_run_status(record["status"]))
