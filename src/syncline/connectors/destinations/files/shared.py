"""One writer at a time for a maintained file, which several syncs may write.

Every batch of a maintained file reads, merges and replaces the file (or appends to it).
Two runs doing that at once, in two processes, would each replace the file with their
own view and silently lose the other's changes. So a batch holds an exclusive lock on
the file: ``flock`` on a lock file in the destination's state folder, named after the
file's real path, that every process writing the file takes. The lock file also counts
the writes, so a run whose last write is no longer the file's newest reads the file
again before it merges. An append is marked while it runs: whoever holds the lock after
a process died in the middle of one cuts the file back first.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from syncline.connectors.destinations.files import durable

logger = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 600.0
"""How long a batch waits for another writer's batch before it fails (and is retried)."""
_POLL_SECONDS = 0.05
_WARN_AFTER_SECONDS = 10.0


class SharedFile:
    """A maintained file, written only while its lock is held."""

    def __init__(self, path: Path, locks: Path) -> None:
        key = durable.file_key(path)
        self.path = path
        self.lock_path = locks / f"{key}.lock"
        self.mark_path = locks / f"{key}.append"
        self.columns_path = locks / f"{key}.columns"
        self.version = 0
        """The number of writes to the file, as of the latest hold or write."""
        self._handle: BinaryIO | None = None

    @contextmanager
    def held(self) -> Iterator[SharedFile]:
        """Hold the file's lock, waiting for another writer's batch to end."""
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+b") as handle:
            self._lock(handle)
            try:
                self._handle = handle
                handle.seek(0)
                text = handle.read().strip()
                self.version = int(text) if text.isdigit() else 0
                if durable.cut_back_interrupted(self.path, self.mark_path):
                    self._count_write()
                yield self
            finally:
                self._handle = None
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _lock(self, handle: BinaryIO) -> None:
        """Take the lock, polling, so that a writer that hangs fails this batch in time."""
        started = time.monotonic()
        warned = False
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass
            waited = time.monotonic() - started
            if waited >= LOCK_WAIT_SECONDS:
                raise TimeoutError(
                    errno.ETIMEDOUT,
                    f"another run has been writing the file for {waited:.0f} s, so this "
                    "batch gave up waiting for it",
                )
            if waited >= _WARN_AFTER_SECONDS and not warned:
                logger.warning("waiting for another run writing %s to finish its batch", self.path)
                warned = True
            time.sleep(_POLL_SECONDS)

    def _count_write(self) -> None:
        if self._handle is None:
            raise RuntimeError("a shared file is written only while its lock is held")
        self.version += 1
        self._handle.truncate(0)
        self._handle.write(str(self.version).encode())
        self._handle.flush()

    def append(self, data: bytes) -> int:
        """Append ``data`` durably; returns the file's size afterwards."""
        try:
            return durable.append_marked(self.path, self.mark_path, data)
        finally:
            self._count_write()

    def replace(self, temp: Path, write: Callable[[BinaryIO], object]) -> None:
        """Replace the whole file atomically through the scratch file ``temp``."""
        try:
            durable.replace_atomically(self.path, temp, write)
        finally:
            # Counted even when it failed: the new file may be in place all the same.
            self._count_write()

    def columns(self) -> list[str] | None:
        """The columns of a file without a header, in order, as last written; None if unknown.

        Written before the file itself, so the file's columns are the first of these:
        see :meth:`record_columns`.
        """
        if not self.columns_path.exists():
            return None
        return [str(name) for name in json.loads(self.columns_path.read_text())]

    def record_columns(self, names: list[str]) -> None:
        """Record the columns of the file about to be written, before it is written.

        A file without a header cannot say which column is which. The columns of a file
        that exists only ever grow at the end (see :meth:`~.formats.CSVFormat.align`), so
        if the write then fails, the old file's columns are still the first ones recorded.
        """
        if names == self.columns():
            return
        body = json.dumps(names).encode()
        temp = self.columns_path.with_name(self.columns_path.name + ".tmp")
        durable.replace_atomically(self.columns_path, temp, lambda sink: sink.write(body))
