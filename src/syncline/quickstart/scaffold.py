"""Write a new project: the sample YAML files (package data) and the sample warehouse."""

from __future__ import annotations

import json
import logging
import re
import shutil
import unicodedata
from importlib import resources
from pathlib import Path

import yaml

from syncline.errors import UserError
from syncline.quickstart.warehouse import create_warehouse

logger = logging.getLogger(__name__)

WAREHOUSE_FILE = "warehouse.duckdb"
OUTPUT_DIR = "output"
"""Folder of the sample destinations (the SQLite file and the CSV export)."""


def sample_files() -> dict[str, str]:
    """The sample project's YAML files by name, read from the package."""
    folder = resources.files("syncline.quickstart").joinpath("project")
    return {
        item.name: item.read_text(encoding="utf-8")
        for item in sorted(folder.iterdir(), key=lambda i: i.name)
        if item.name.endswith(".yml")
    }


QUICKSTART_MARKER = ".syncline-quickstart"
"""File that marks a folder the quickstart made, and so may reset and reuse."""

QUICKSTART_WORKSPACE = "quickstart"
"""The quickstart's own workspace, so that its apply never touches another project's."""


def folder_workspace(folder: Path) -> str:
    """The workspace a project made in ``folder`` declares: the folder's name as a slug
    (``Sales Ops`` gives ``sales-ops``, ``Équipe`` gives ``equipe``).

    Two projects made in two folders then never share a workspace, where each apply would
    take over, and delete, what the other declared.

    Raises:
        UserError: nothing of the name is left for a slug; ``default``, shared by every
            project without a name of its own, is not taken in its place.
    """
    # Accents come apart from their letters and are dropped, as are letters ASCII lacks.
    spelt = unicodedata.normalize("NFKD", folder.resolve().name)
    ascii_name = spelt.encode("ascii", "ignore").decode("ascii")
    name = re.sub(r"[^a-z0-9._-]+", "-", ascii_name.lower())
    name = re.sub(r"^[^a-z0-9]+", "", name).rstrip("-._")[:255]
    if not name:
        raise UserError(
            f"the folder name {folder.name!r} gives no workspace name (no letter or digit). "
            f"Fix: name one, e.g. `syncline init {folder.name} --workspace NAME`"
        )
    return name


def _yaml_text(value: str) -> str:
    """``value`` as YAML reads it back as that text: quoted when it would read as a
    number, a boolean or null (``123``, ``1e3``, ``yes``)."""
    if yaml.safe_load(f"x: {value}") == {"x": value}:
        return value
    return json.dumps(value)


def create_project(folder: Path, *, workspace: str | None = None) -> list[Path]:
    """Create a sample project in ``folder`` and return the files written.

    ``workspace`` replaces the sample's ``default`` workspace in ``syncline.yml``.

    Raises:
        UserError: a file it would write exists already; nothing is overwritten.
    """
    files = sample_files()
    if workspace is not None:
        files["syncline.yml"] = files["syncline.yml"].replace(
            "workspace: default", f"workspace: {_yaml_text(workspace)}"
        )
    targets = [folder / name for name in files] + [folder / WAREHOUSE_FILE]
    existing = [str(p) for p in targets if p.exists()]
    if existing:
        raise UserError(
            f"{', '.join(existing)} already exist; choose an empty folder, e.g. "
            "`syncline init my-project`"
        )

    folder.mkdir(parents=True, exist_ok=True)
    (folder / OUTPUT_DIR).mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    create_warehouse(folder / WAREHOUSE_FILE)

    logger.info("sample project created in %s", folder)
    return targets


def create_quickstart(folder: Path) -> None:
    """Create the quickstart's project in an empty or new ``folder``, in its own workspace.

    Raises:
        UserError: the folder holds files already; the quickstart writes nothing there.
    """
    if folder.exists() and any(folder.iterdir()):
        raise UserError(
            f"{folder} is not empty and was not made by the quickstart, which writes nothing "
            "there. Fix: give another folder, e.g. `syncline quickstart my-tour`"
        )
    create_project(folder, workspace=QUICKSTART_WORKSPACE)
    (folder / QUICKSTART_MARKER).write_text(
        "This folder was made by `syncline quickstart`, which resets it when run again.\n",
        encoding="utf-8",
    )


def is_quickstart(folder: Path) -> bool:
    """True when ``folder`` was made by :func:`create_quickstart`, so it may be reset."""
    return (folder / QUICKSTART_MARKER).is_file()


def reset_sample(folder: Path) -> None:
    """Put the sample warehouse back to its first state and empty the output folder.

    The YAML files are kept, so edits made to them survive another quickstart.
    """
    (folder / WAREHOUSE_FILE).unlink()
    create_warehouse(folder / WAREHOUSE_FILE)
    output = folder / OUTPUT_DIR
    if output.exists():
        shutil.rmtree(output)
    output.mkdir()
    logger.info("sample project in %s reset", folder)
