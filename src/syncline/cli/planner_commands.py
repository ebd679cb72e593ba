"""``syncline planner cleanup``: drop warehouse planner tables that no sync owns any more.

A sync deleted while its source was unreachable, or a catalog restored from an older
backup, leaves the in-warehouse planner's tables of syncs the catalog no longer knows.
So does a source switched to the local planner by a version that did not hand the
snapshot over (see :mod:`syncline.engine.planner.switch`): its syncs' tables stay in its
``plannerSchema``, unmarked, and no run takes them over. The command lists the tables of
syncs that neither plan in the warehouse nor await a run that takes their snapshot over,
in the planner schema of every source that has a warehouse planner, and drops them. It
looks too in the schemas such a source may have named before: the default one, and those
the marks of syncs' last warehouse runs name, since a source that names another
``plannerSchema`` leaves its syncs' tables in the old one until their next run.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from syncline.cli import output
from syncline.cli.context import open_catalog
from syncline.cli.exitcodes import ExitCode
from syncline.errors import ConfigError, ConnectorError
from syncline.numerals import whole_number
from syncline.settings import load_settings

if TYPE_CHECKING:
    from syncline.connectors.sources.base import Source

logger = logging.getLogger(__name__)

_WAREHOUSE_TYPES = ("postgres", "duckdb")
"""The source types that have a warehouse planner, whose schema may hold planner tables."""

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
    from syncline.engine.planner.warehouse import (
        drop_sync_state,
        orphan_syncs,
        warehouse_sources,
    )
    from syncline.engine.planner.warehouse.choice import DEFAULT_SCHEMA

    settings = load_settings()
    marks = _marks(settings.snapshot_dir)
    sources: list[tuple[str, str, Source]] = []
    known: set[int] = set()
    with open_catalog(settings) as catalog:
        with catalog.session(read_only=True) as session:
            workspaces = [w.slug for w in session.workspaces.list()]
            installation_id = session.installation_id
        for workspace in workspaces:
            with catalog.session(workspace, read_only=True) as session:
                planning = warehouse_sources(session)
                for sync in session.syncs.list():
                    # A sync on the local planner, or one whose source names another
                    # schema, whose runs left a mark has its snapshot still in the
                    # warehouse, for its next run to take over.
                    if sync.id in planning or sync.id in marks:
                        known.add(sync.id)
                for source in planning.values():
                    source.close()
                for record in session.sources.list():
                    configuration = session.sources.plain_configuration(record)
                    if record.type not in _WAREHOUSE_TYPES:
                        continue
                    if record.type == "duckdb" and not configuration.get("path"):
                        continue  # An in-memory database keeps no tables between runs.
                    source = registry.source_class(record.type).from_config(configuration)
                    sources.append((workspace, record.slug, source))

    rows = []
    failed = False
    examined = 0
    seen: set[tuple[str, int]] = set()
    for workspace, slug, source in sources:
        schemas = [_schema(source)]
        # Schemas the source may have named before keep the tables of syncs deleted
        # before a run took them over: the default one, and those marks name.
        schemas += sorted({DEFAULT_SCHEMA, *marks.values()} - set(schemas))
        try:
            for schema in schemas:
                try:
                    # A schema another installation owns is refused here, not emptied:
                    # its sync ids are that catalog's, none of them known to this one.
                    orphans = orphan_syncs(source, known, installation_id, schema)
                except ConfigError as exc:
                    if schema != schemas[0] and exc.code == "PLANNER_SCHEMA_OWNED":
                        continue  # Not the schema the source names, and none of ours.
                    raise
                for sync_id in sorted(orphans.sync_ids):
                    # Sources of several workspaces may reach one schema: its tables are
                    # dropped (or, in a dry run, listed) once, under the first of them.
                    if (orphans.location, sync_id) in seen:
                        continue
                    seen.add((orphans.location, sync_id))
                    if not dry_run:
                        drop_sync_state(source, sync_id, installation_id, schema)
                    rows.append((workspace, slug, schema, sync_id))
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


def _marks(snapshot_dir: Path) -> dict[int, str]:
    """The schema each sync's mark names, by sync id: where its last warehouse run kept
    its tables (see :func:`~syncline.engine.planner.store.warehouse_mark_path`)."""
    marks = {}
    for path in snapshot_dir.glob("sync-*.warehouse"):
        sync_id = path.name.removeprefix("sync-").removesuffix(".warehouse")
        number = whole_number(sync_id)
        if number is not None:
            marks[number] = path.read_text(encoding="utf-8")
    return marks


def _schema(source: Source) -> str:
    """The planner schema of ``source``, where it plans or planned in the warehouse."""
    from syncline.engine.planner.warehouse.choice import DEFAULT_SCHEMA

    return str(getattr(source.config, "planner_schema", DEFAULT_SCHEMA))
