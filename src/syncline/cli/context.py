"""What every command works on: the catalog from the settings, and the workspace in it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from syncline.errors import UserError

# The catalog (SQLAlchemy) and the project loader are imported where they are used, so
# that importing the command line, and commands that need neither, stay quick.
if TYPE_CHECKING:
    from syncline.catalog import Catalog
    from syncline.settings import Settings

DEFAULT_WORKSPACE = "default"


@dataclass
class GlobalOptions:
    """Options given before the command, e.g. ``syncline --workspace trial run x``."""

    debug: bool = False
    workspace: str | None = None


options = GlobalOptions()
"""The global options of the command being run (reset by each ``run_cli`` call)."""


@contextmanager
def open_catalog(settings: Settings) -> Iterator[Catalog]:
    """Open the catalog of ``SYNCLINE_HOME`` / ``SYNCLINE_DATABASE_URL``, closed afterwards."""
    from syncline.catalog import Catalog

    catalog = Catalog.open(settings)
    try:
        yield catalog
    finally:
        catalog.close()


def chosen_workspace(settings: Settings) -> tuple[str, str] | None:
    """The workspace the user named, and where: ``--workspace``, else ``SYNCLINE_WORKSPACE``."""
    if options.workspace:
        return options.workspace, "--workspace"
    if settings.workspace:
        return settings.workspace, "SYNCLINE_WORKSPACE"
    return None


def workspace_for(settings: Settings, project: Path | None) -> str:
    """The workspace a command on resources works in.

    ``--workspace`` wins, then ``SYNCLINE_WORKSPACE``, then the ``workspace`` of the
    project folder (``--project``, else the current folder when it holds a project),
    then ``default``.
    """
    chosen = chosen_workspace(settings)
    if chosen is not None:
        return chosen[0]
    from syncline.project.workspace import project_workspace

    found = project_workspace(project or Path("."), named=project is not None)
    return found or DEFAULT_WORKSPACE


def check_project_workspace(settings: Settings, workspace: str) -> None:
    """Refuse a named workspace that differs from the project's: the project file decides.

    Raises:
        UserError: ``--workspace`` or ``SYNCLINE_WORKSPACE`` names another workspace.
    """
    chosen = chosen_workspace(settings)
    if chosen is not None and chosen[0] != workspace:
        raise UserError(
            f"{chosen[1]} names the workspace {chosen[0]!r}, but the project declares "
            f"workspace: {workspace}. Fix: change workspace in the project's syncline.yml, "
            f"or leave out {chosen[1]}"
        )
