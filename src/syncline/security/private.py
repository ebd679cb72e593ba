"""Files and folders of the control plane, readable by their owner only.

The catalog holds rejected rows and run errors, and the snapshots hold every synced
row's key and hash, so neither is for other accounts on the server; the key file is
made the same way (see :mod:`syncline.security.secrets`).
"""

from __future__ import annotations

import os
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> Path:
    """``path`` made when missing, open to its owner only; a folder that exists keeps its
    mode, since the operator may have opened it on purpose."""
    if not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            pass  # another process made it at the same moment
        else:
            os.chmod(path, FOLDER_MODE)  # mkdir's mode only ever narrows the umask's
    return path


def private_file(path: Path) -> Path:
    """``path`` made empty when missing, readable by its owner only, so a program that
    then opens it (SQLite, DuckDB) keeps that mode and gives it to its journals."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return path
    os.close(fd)
    return path


def keep_private(path: Path) -> None:
    """Take the group's and others' access away from a file a library made, if it exists."""
    try:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            os.chmod(path, mode & FOLDER_MODE)
    except FileNotFoundError:
        return
