"""Commands on a project folder: init, validate, plan, apply, and the one-command quickstart."""

from __future__ import annotations

import logging
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from syncline.cli import output
from syncline.cli.context import check_project_workspace, open_catalog
from syncline.errors import UserError
from syncline.settings import load_settings

# The project loader (YAML, pydantic, every connector's spec), apply and the scaffolding
# are imported by the commands that use them, not by every start of the command line.
if TYPE_CHECKING:
    from syncline.errors import Problem
    from syncline.project.spec import Project

logger = logging.getLogger(__name__)

ProjectOption = Annotated[
    Path,
    typer.Option("--project", "-p", envvar="SYNCLINE_PROJECT", help="The project folder."),
]


def init(
    folder: Annotated[Path, typer.Argument(help="Where to create the project.")] = Path("."),
    workspace: Annotated[
        str | None,
        typer.Option(
            "--workspace",
            help="The workspace the project declares [default: the folder's name].",
        ),
    ] = None,
) -> None:
    """Create a project with a sample DuckDB warehouse and YAML files, ready to apply and run."""
    from syncline.quickstart.scaffold import create_project, folder_workspace

    workspace = workspace or folder_workspace(folder)
    try:
        written = create_project(folder, workspace=workspace)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UserError(
            f"cannot create the project in {str(folder)!r}: {reason}. Fix: choose a folder "
            "you can write to, e.g. `syncline init my-project`"
        ) from None
    out = output.console()
    for path in written:
        out.print(f"created {path}")
    out.print(
        f"\nThe project's resources live in workspace {workspace!r} (`workspace:` in "
        "syncline.yml), apart from other projects'.",
        markup=False,
    )
    hint = f" --project {shlex.quote(str(folder))}" if folder != Path(".") else ""
    out.print(
        f"Next: syncline validate{hint} && syncline apply{hint} && "
        f"syncline run customers-to-crm{hint}",
        markup=False,
    )


def _load(project: Path) -> Project:
    from syncline.project.loader import load_project

    spec = load_project(project)
    _warn(spec.warnings)
    return spec


def _unseen(warnings: list[Problem], spec: Project) -> list[Problem]:
    """The warnings of a plan that loading the project did not already print."""
    printed = {warning.message for warning in spec.warnings}
    return [warning for warning in warnings if warning.message not in printed]


def _warn(warnings: list[Problem]) -> None:
    """Print each warning as one line on stderr, where problems go."""
    for warning in warnings:
        output.error_console().print(f"warning: {output.problem_line(warning)}", markup=False)


def validate(project: ProjectOption = Path(".")) -> None:
    """Check every YAML file of the project and report every problem at once."""
    spec = _load(project)
    sizes = [
        ("source", len(spec.sources)),
        ("model", len(spec.models)),
        ("destination", len(spec.destinations)),
        ("sync", len(spec.syncs)),
    ]
    if spec.sequences:
        sizes.append(("sequence", len(spec.sequences)))
    counts = ", ".join(output.plural(size, kind) for kind, size in sizes)
    output.console().print(f"The project is valid: {counts} (workspace {spec.workspace!r}).")


def plan(project: ProjectOption = Path(".")) -> None:
    """Show what `syncline apply` would create, change and delete in the catalog."""
    from syncline.project.apply import plan_project

    spec = _load(project)
    settings = load_settings()
    check_project_workspace(settings, spec.workspace)
    with open_catalog(settings) as catalog:
        result = plan_project(catalog, spec, settings)
    _warn(_unseen(result.warnings, spec))
    output.print_plan(output.console(), result)


def apply(project: ProjectOption = Path(".")) -> None:
    """Make the catalog match the project, in one transaction, and print what changed."""
    from syncline.project.apply import apply_project

    spec = _load(project)
    settings = load_settings()
    check_project_workspace(settings, spec.workspace)
    with open_catalog(settings) as catalog:
        result = apply_project(catalog, spec, settings)
    _warn(_unseen(result.warnings, spec))
    output.print_plan(output.console(), result, applied=True)


def quickstart(
    folder: Annotated[
        Path | None, typer.Argument(help="Where to create it [default: ./syncline-quickstart].")
    ] = None,
) -> None:
    """Create a sample warehouse, sync it, change it, sync again, and show what moved."""
    from syncline.cli.quickstart import run_quickstart

    raise typer.Exit(run_quickstart(folder or Path("syncline-quickstart")))
