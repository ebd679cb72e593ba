"""Write a new project: the sample YAML files (package data) and the sample warehouse."""

from __future__ import annotations

import logging
import shutil
from importlib import resources
from pathlib import Path

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


def create_project(folder: Path) -> list[Path]:
    """Create a sample project in ``folder`` and return the files written.

    Raises:
        UserError: a file it would write exists already; nothing is overwritten.
    """
    files = sample_files()
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


def is_sample_project(folder: Path) -> bool:
    """True when ``folder`` holds a project made by :func:`create_project`."""
    names = [*sample_files(), WAREHOUSE_FILE]
    return folder.is_dir() and all((folder / name).is_file() for name in names)


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
