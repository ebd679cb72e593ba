"""Writes that survive a crash: atomic rewrites, and appends with an acknowledged-size mark.

A rewrite goes to a scratch file in the target's folder, is flushed to disk, and then
replaces the target in one ``os.replace``: a reader sees the old file or the new one,
never half of either. An append is flushed to disk before it is acknowledged, and a
small mark records the file's size after the last acknowledged append; if the process
dies in the middle of an append, the next run cuts the file back to that size, so the
file holds exactly the acknowledged rows and no torn last line. An append that fails
(a full disk) is cut back the same way before the next append or when the run ends,
so that the retry of its batch does not add the rows a second time.

A maintained file, which other syncs may write between two batches of a run, is appended
to under its lock with a mark that lives only as long as the append (:func:`append_marked`):
a mark that outlived it would cut the other writers' later rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

logger = logging.getLogger(__name__)


def fsync_directory(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_atomically(target: Path, temp: Path, write: Callable[[BinaryIO], object]) -> int:
    """Write a whole new file through ``temp`` and swap it in; returns the new size."""
    with open(temp, "wb") as sink:
        write(sink)
        sink.flush()
        os.fsync(sink.fileno())
        size = sink.tell()

    os.replace(temp, target)
    fsync_directory(target.parent)
    return size


def file_key(path: Path) -> str:
    """A short name for ``path`` that every spelling of it shares (symlinks resolved)."""
    return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:24]


def _cut(path: Path, size: int) -> bool:
    """Cut ``path`` back to ``size`` bytes, durably; False when it was no longer."""
    if not path.exists() or path.stat().st_size <= size:
        return False
    with open(path, "r+b") as sink:
        sink.truncate(size)
        os.fsync(sink.fileno())
    return True


def _append_synced(path: Path, data: bytes, *, existed: bool) -> int:
    """Append ``data`` to ``path`` and sync it (and, for a new file, its folder) to disk;
    returns the file's size afterwards."""
    with open(path, "ab") as sink:
        sink.write(data)
        sink.flush()
        os.fsync(sink.fileno())
        size = sink.tell()
    if not existed:
        fsync_directory(path.parent)
    return size


def append_marked(path: Path, mark: Path, data: bytes) -> int:
    """Append ``data`` to ``path`` durably; returns the file's size afterwards.

    ``mark`` holds the size before the append while it runs: if the process dies, whoever
    next holds the file's lock cuts it back (:func:`cut_back_interrupted`). An append that
    fails is cut back at once, so nothing of its batch stays for the retry to repeat.
    """
    existed = path.exists()
    before = path.stat().st_size if existed else 0
    body = json.dumps({"size": before}).encode()
    replace_atomically(mark, mark.with_name(mark.name + ".tmp"), lambda sink: sink.write(body))
    try:
        size = _append_synced(path, data, existed=existed)
        mark.unlink()
        fsync_directory(mark.parent)
    except OSError:
        try:
            _cut(path, before)
            mark.unlink(missing_ok=True)
        except OSError:
            logger.warning("could not cut %s back after a failed append; the next write does", path)
        raise
    return size


def cut_back_interrupted(path: Path, mark: Path) -> bool:
    """Cut ``path`` back to the size ``mark`` holds, left by an append that never ended.

    The caller holds the file's lock, so no append of a live process is under way.
    """
    if not mark.exists():
        return False
    cut = _cut(path, int(json.loads(mark.read_text())["size"]))
    mark.unlink()
    fsync_directory(mark.parent)
    if cut:
        logger.warning("cut %s back to its size before an interrupted append", path)
    return cut


class AppendMarks:
    """Sizes of files as of their last acknowledged append, kept while a run appends.

    For the files of one run alone (per-run files): a maintained file, which other runs
    may append to between this run's batches, is appended to by :func:`append_marked`.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._sizes: dict[Path, int] = {}
        """Sizes after the appends that returned: a mark saved by an append that then
        failed (its folder not synced) may already name the size after it."""

    def _mark(self, path: Path) -> Path:
        return self.folder / f"{file_key(path)}.json"

    def _save(self, path: Path, size: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"path": str(path.resolve()), "size": size}).encode()
        mark = self._mark(path)
        replace_atomically(mark, mark.with_suffix(".tmp"), lambda sink: sink.write(body))

    def acknowledged_size(self, path: Path) -> int:
        """The size of ``path`` as of its last acknowledged append, cutting back what an
        append that failed since (a full disk, say) left behind; 0 for no file.

        An append that raised may have written part of its data: the retry of its batch
        must not add the rows after that torn part, or the file would hold them twice.
        """
        if not path.exists():
            return 0
        size = path.stat().st_size
        acknowledged = self._sizes.get(path)
        mark = self._mark(path)
        if acknowledged is None and mark.exists():
            acknowledged = int(json.loads(mark.read_text())["size"])
        if acknowledged is not None and size > acknowledged:
            with open(path, "r+b") as sink:
                sink.truncate(acknowledged)
                os.fsync(sink.fileno())
            logger.warning(
                "cut %s back to its last acknowledged size (%d bytes) after a failed append",
                path,
                acknowledged,
            )
            size = acknowledged
        return size

    def append(self, path: Path, data: bytes) -> int:
        """Append ``data`` durably after the last acknowledged append; returns the
        file's size afterwards."""
        existed = path.exists()
        before = self.acknowledged_size(path)
        if not self._mark(path).exists():
            # Recorded before the first byte goes out, so a crash during this very
            # append is cut back to what was there.
            self._save(path, before)

        size = _append_synced(path, data, existed=existed)

        self._save(path, size)
        self._sizes[path] = size
        return size

    def release(self, path: Path) -> None:
        """Forget the mark of ``path``: every append to it returned, the file is whole."""
        self._mark(path).unlink(missing_ok=True)
        self._sizes.pop(path, None)

    def recover(self, refuse: Callable[[Path], str | None] | None = None) -> list[Path]:
        """Cut every marked file back to its acknowledged size; returns the files cut.

        A mark names its file by path, so one left in the folder by anyone but the run
        could name any file: ``refuse`` says why a file may not be touched, and such a
        mark is dropped with a warning.
        """
        sizes, self._sizes = self._sizes, {}
        if not self.folder.is_dir():
            return []

        cut: list[Path] = []
        for mark in sorted(self.folder.glob("*.json")):
            entry = json.loads(mark.read_text())
            path = Path(entry["path"])
            size = sizes.get(path, int(entry["size"]))
            reason = refuse(path) if refuse is not None else None
            if reason is not None:
                logger.warning("dropped the append mark %s without cutting: %s", mark, reason)
            elif path.exists() and path.stat().st_size > size:
                with open(path, "r+b") as sink:
                    sink.truncate(size)
                    os.fsync(sink.fileno())
                logger.warning(
                    "cut %s back to its last acknowledged size (%d bytes) after an interrupted run",
                    path,
                    size,
                )
                cut.append(path)
            mark.unlink()
        return cut
