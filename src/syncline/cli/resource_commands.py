"""Commands that inspect resources: test a source, preview a model, list the syncs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from syncline.cli import output
from syncline.cli.context import open_catalog, workspace_for
from syncline.cli.exitcodes import ExitCode
from syncline.cli.run_commands import ProjectOption
from syncline.errors import ConnectorError
from syncline.numerals import number_or_text
from syncline.settings import load_settings

# Connectors (pyarrow, drivers) and the scheduler are imported by the commands that
# use them, so that starting any other command does not load them.
if TYPE_CHECKING:
    import pyarrow as pa

    from syncline.catalog import DestinationRecord, SourceRecord
    from syncline.connectors.destinations.base import Destination
    from syncline.connectors.sources.base import Source


def test_source(
    name: Annotated[str, typer.Argument(help="The source's slug or id.")],
    project: ProjectOption = None,  # noqa: PT028 - a command, not a test
) -> None:
    """Connect to a source and run a trivial query."""
    _test_connection("source", name, project)


def test_destination(
    name: Annotated[str, typer.Argument(help="The destination's slug or id.")],
    project: ProjectOption = None,  # noqa: PT028 - a command, not a test
) -> None:
    """Check that a destination can be reached and written with its configuration."""
    _test_connection("destination", name, project)


def _test_connection(kind: str, name: str, project: Path | None) -> None:
    from syncline.connectors import registry

    settings = load_settings()
    workspace = workspace_for(settings, project)
    with open_catalog(settings) as catalog, catalog.session(workspace, read_only=True) as session:
        connector: Source | Destination
        record: SourceRecord | DestinationRecord
        if kind == "source":
            record = origin = session.sources.get(_ident(name))
            connector = _source(origin.type, session.sources.plain_configuration(origin))
        else:
            record = target = session.destinations.get(_ident(name))
            configuration = session.destinations.plain_configuration(target)
            connector = registry.destination_class(target.type).from_config(configuration)

    try:
        connector.test()
    except ConnectorError as exc:
        output.error_console().print(f"error: {kind} {record.slug!r}: {exc}")
        raise typer.Exit(ExitCode.RUN_FAILED) from None
    finally:
        connector.close()
    output.console().print(f"{kind.capitalize()} {record.slug!r} ({record.type}): connection OK.")


def preview_model(
    name: Annotated[str, typer.Argument(help="The model's slug or id.")],
    limit: Annotated[
        int, typer.Option(help="How many rows to show (at most 1000).", min=1, max=1000)
    ] = 20,
    project: ProjectOption = None,
) -> None:
    """Show a model's columns with their types, and its first rows."""
    settings = load_settings()
    workspace = workspace_for(settings, project)
    with open_catalog(settings) as catalog, catalog.session(workspace, read_only=True) as session:
        model = session.models.get(_ident(name))
        record = session.sources.get(model.source_id)
        source = _source(record.type, session.sources.plain_configuration(record))

    try:
        query = model.sql if model.query_type == "raw_sql" else None
        query = query or source.table_query(model.table_name or "")
        columns = source.describe(query)
        batches = source.read(query, batch_rows=limit)
        first = next(batches, None)
        close = getattr(batches, "close", None)
        if close is not None:
            close()
    finally:
        source.close()

    out = output.console()
    out.print(output.table(f"Columns of model {model.slug}", ("column", "type"), (
        (c.name, c.type) for c in columns
    )))  # fmt: skip
    shown = first.slice(0, limit) if first is not None else None
    values = [_shown(column) for column in shown.columns] if shown is not None else []
    rows = list(zip(*values, strict=True))
    names = [c.name for c in columns]
    out.print(output.table(f"First {len(rows)} rows", names, rows))


def list_syncs(project: ProjectOption = None) -> None:
    """List every sync with its model, destination, mode, status, last run and next run."""
    # The catalog first: scheduling.state and the catalog import each other (through
    # catalog.shapes), and only an import that enters through the catalog completes.
    import syncline.catalog  # noqa: F401 - imported for its side effect, see above
    from syncline.scheduling.state import next_run_at

    settings = load_settings()
    workspace = workspace_for(settings, project)
    with open_catalog(settings) as catalog, catalog.session(workspace, read_only=True) as session:
        models = {m.id: m.slug for m in session.models.list()}
        destinations = {d.id: d.slug for d in session.destinations.list()}
        rows = [
            (
                sync.id,
                sync.slug,
                models[sync.model_id],
                destinations[sync.destination_id],
                sync.configuration.get("mode"),
                session.syncs.status(sync),
                (sync.schedule or {}).get("type", "manual"),
                sync.last_run_at,
                next_run_at(session.orm, sync),
            )  # fmt: skip
            for sync in session.syncs.list()
        ]

    out = output.console()
    if not rows:
        out.print(
            f"No syncs in workspace {workspace!r} yet; declare some in a project and run "
            "`syncline apply`."
        )
        return
    columns: tuple[str, ...] = ("id", "slug", "model", "destination", "mode", "status")
    columns += ("schedule", "last run (UTC)", "next run (UTC)")
    out.print(output.table(f"Syncs of workspace {workspace}", columns, rows))


def _shown(column: pa.Array) -> list[Any]:
    """A column's values as the preview shows them: durations in ISO 8601, infinity named."""
    from syncline.connectors.destinations.sql.durations import duration_text, is_duration_like
    from syncline.connectors.sources.infinity import python_values

    if is_duration_like(column.type):
        texts: list[Any] = duration_text(column).to_pylist()
        return texts
    return python_values(column)


def _source(type_name: str, configuration: dict[str, object]) -> Source:
    from syncline.connectors import registry

    source: Source = registry.source_class(type_name).from_config(configuration)
    return source


def _ident(name: str) -> int | str:
    return number_or_text(name)
