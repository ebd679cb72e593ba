"""Why a local path cannot hold a destination's database file, in words a user can act on.

The operating system and the drivers say ``Not a directory`` or ``unable to open
database file``, and SQLite's own check only asked whether the parent folder was
writable, which a regular file standing in for that folder also is.
"""

from __future__ import annotations

import os
from pathlib import Path


def file_in_the_way(path: Path) -> Path | None:
    """The nearest existing ancestor of ``path`` when it is a file rather than a folder."""
    for ancestor in path.parents:
        if ancestor.exists():
            return None if ancestor.is_dir() else ancestor
    return None


def database_file_problem(path: Path) -> str | None:
    """Why a database file cannot be opened or created at ``path``; None when it can."""
    if path.is_dir():
        return (
            f"{str(path)!r} is a folder, not a database file; set path to a file in it, "
            f"such as {str(path / 'syncline.db')!r}"
        )
    blocker = file_in_the_way(path)
    if blocker is not None:
        return (
            f"{str(blocker)!r} is a file, not a folder, so no database can be created under "
            "it; set path to a file in a folder"
        )
    if path.exists():
        return None

    folder = path.parent
    if not folder.exists():
        return f"folder {str(folder)!r} does not exist; create it or choose another path"
    if not os.access(folder, os.W_OK | os.X_OK):
        return (
            f"folder {str(folder)!r} is not writable, so the database file cannot be "
            "created; fix its permissions or choose another path"
        )
    return None
