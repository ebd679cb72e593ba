"""Where a run's rows go: the target file from the sync's ``object``, and the state folder.

An ``object`` without ``{run_id}`` or ``{timestamp}`` names one MAINTAINED file that
holds the current state and is rewritten or appended to by every run. With either
placeholder, each run writes a NEW file (see the package docstring for what it
holds). ``{sync_id}`` only fills in the sync's id; ``{timestamp}`` is the UTC time the
run opened the file, as ``20240501T123000Z``. Paths stay inside the destination's
folder: an absolute path or a ``..`` part is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from syncline.errors import TerminalError

PLACEHOLDERS = ("run_id", "sync_id", "timestamp")
"""Names that may appear in braces in a file name."""

PER_RUN_PLACEHOLDERS = ("run_id", "timestamp")
"""Placeholders that make every run write a new file."""

STATE_FOLDER = ".syncline"
"""Hidden folder, inside the destination's folder, for crash-recovery state and parts;
and inside the folder of each file written, for the file's lock."""

_BRACES = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class Target:
    """The file one run writes, and whether it is a new file for this run."""

    directory: Path
    relative: PurePosixPath
    per_run: bool

    @property
    def path(self) -> Path:
        """Absolute-or-relative path of the file on disk."""
        return self.directory.joinpath(*self.relative.parts)

    @property
    def temp_path(self) -> Path:
        """The scratch file a rewrite goes through before it replaces the target."""
        return self.path.with_name(f".{self.path.name}.syncline-tmp")


def resolve_target(
    directory: Path, name: str, *, sync_id: int, run_id: int, now: datetime | None = None
) -> Target:
    """The target file of one run for the sync's ``object`` ``name``.

    Raises:
        TerminalError: the name has an unknown placeholder or leaves the folder.
    """
    unknown = [p for p in _BRACES.findall(name) if p not in PLACEHOLDERS]
    if unknown:
        raise TerminalError(
            f"file name {name!r} has unknown placeholder(s) {', '.join(unknown)}; "
            f"use {{run_id}}, {{sync_id}} or {{timestamp}}",
            connector="files",
        )

    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    rendered = (
        name.replace("{run_id}", str(run_id))
        .replace("{sync_id}", str(sync_id))
        .replace("{timestamp}", moment)
    )
    written = rendered.replace("\\", "/")
    if written.rsplit("/", 1)[-1] in ("", "."):
        # PurePosixPath drops a trailing "/" or "/.", which would write the folder itself.
        folder = written.rstrip("/.") or "exports"
        raise TerminalError(
            f"file name {name!r} names a folder, not a file; end it with the file's name, "
            f"e.g. '{folder}/users.csv'",
            connector="files",
        )
    relative = PurePosixPath(written)
    if relative.is_absolute() or ".." in relative.parts or not relative.name:
        raise TerminalError(
            f"file name {name!r} must be a relative path inside the destination folder "
            "without '..' parts, e.g. 'exports/users.csv'",
            connector="files",
        )
    if STATE_FOLDER in relative.parts:
        raise TerminalError(
            f"file name {name!r} may not start with or pass through {STATE_FOLDER!r}: "
            "Syncline keeps its recovery state and locks in folders of that name",
            connector="files",
        )

    per_run = any("{" + p + "}" in name for p in PER_RUN_PLACEHOLDERS)
    return Target(directory=directory, relative=relative, per_run=per_run)


def state_root(directory: Path, sync_id: int) -> Path:
    """Folder of one sync's recovery state: append marks and unpublished Parquet parts."""
    return directory / STATE_FOLDER / f"sync-{sync_id}"
