"""``syncline planner cleanup``: drop warehouse planner tables that no sync owns any more.

A sync deleted while its source was unreachable, or a catalog restored from an older
backup, leaves the in-warehouse planner's tables of syncs the catalog no longer knows.
The command lists them for every source on ``planner: warehouse`` and drops them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated

import typer

from syncline.cli import output
from syncline.cli.context import open_catalog
from syncline.cli.exitcodes import ExitCode
from syncline.errors import ConfigError, ConnectorError
from syncline.settings import load_settings

if TYPE_CHECKING:
    from syncline.connectors.sources.base import Source

logger = logging.getLogger(__name__)

planner_app = typer.Typer(
    help="The in-warehouse planner's tables.", no_args_is_help=True, add_completion=False
)


@planner_app.command("cleanup")
def cleanup(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the orphaned tables' syncs; drop nothing.")
    ] = False,
) -> None:
    """Drop the planner tables of syncs no longer in the catalog, source by source."""
    # Imported here: the warehouse planner brings sqlglot and the source drivers.
    from syncline.connectors import registry
    from syncline.engine.planner.warehouse import drop_sync_state, orphan_syncs, planner_schema

    settings = load_settings()
    sources: list[tuple[str, str, Source]] = []
    known: set[int] = set()
    with open_catalog(settings) as catalog:
        with catalog.session(read_only=True) as session:
            workspaces = [w.slug for w in session.workspaces.list()]
            installation_id = session.installation_id
        for workspace in workspaces:
            with catalog.session(workspace, read_only=True) as session:
                known.update(sync.id for sync in session.syncs.list())
                for record in session.sources.list():
                    configuration = session.sources.plain_configuration(record)
                    if configuration.get("planner") != "warehouse":
                        continue
                    source = registry.source_class(record.type).from_config(configuration)
                    sources.append((workspace, record.slug, source))

    rows = []
    failed = False
    examined = 0
    seen: set[tuple[str, int]] = set()
    for workspace, slug, source in sources:
        try:
            # A schema another installation owns is refused here, not emptied: its sync
            # ids are that catalog's, none of them known to this one.
            orphans = orphan_syncs(source, known, installation_id)
            for sync_id in sorted(orphans.sync_ids):
                # Sources of several workspaces may reach one schema: its tables are
                # dropped (or, in a dry run, listed) once, under the first of them.
                if (orphans.location, sync_id) in seen:
                    continue
                seen.add((orphans.location, sync_id))
                if not dry_run:
                    drop_sync_state(source, sync_id, installation_id)
                rows.append((workspace, slug, planner_schema(source), sync_id))
            examined += 1
        except (ConnectorError, ConfigError) as exc:
            failed = True
            output.error_console().print(f"error: source {slug!r}: {output.error_text(exc)}")
        finally:
            source.close()

    verb = "would drop" if dry_run else "dropped"
    if rows:
        columns = ("workspace", "source", "schema", f"sync ({verb} its tables)")
        output.console().print(output.table("Orphaned planner tables", columns, rows))
    # A source refused above was not looked into: nothing is said of its tables.
    elif examined and failed:
        output.console().print("no orphaned planner tables in the other sources")
    elif not failed:
        output.console().print("no orphaned planner tables")
    if failed:
        raise typer.Exit(ExitCode.RUN_FAILED)
