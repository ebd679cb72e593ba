"""Disk errors part way through a run: acknowledged rows stay, each exactly once.

The errors are simulated in the file destinations' durable-write module: a disk whose
space runs out (a write stores the bytes that fit and fails with ENOSPC, as a real
write does), and a folder that fails to sync after a file was renamed into it. The
failed batch raises TransientError; the engine then sends it again, or the run ends
without it and the next run sends it. Either way the file must end up holding every
row once, whole, in CSV, JSON Lines and Parquet, maintained or per run.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from file_helpers import FORMATS, batch, context, read_records, run

from syncline.connectors.destinations.base import Destination, SyncMode, WriteAction
from syncline.connectors.destinations.files import durable
from syncline.errors import TerminalError, TransientError

Make = Callable[[], Destination]

ROWS = [{"id": i, "name": f"name {i:03d} " + "x" * 40} for i in range(1, 31)]


class _Sink:
    """A file whose writes draw on the disk's space."""

    def __init__(self, disk: _Disk, file: Any) -> None:
        self._disk = disk
        self._file = file

    def write(self, data: bytes) -> int:
        space = self._disk.space
        if space is None or len(data) <= space:
            self._disk.use(len(data))
            return int(self._file.write(data))
        self._file.write(bytes(data)[:space])
        self._file.flush()
        self._disk.use(space)
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)

    def __enter__(self) -> _Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()


class _Disk:
    """The space left for the durable writes: unlimited while ``space`` is None.

    With ``data_only`` the sync's state folder (append marks, Parquet parts) is not
    limited, so that a test can tear a write to the data file itself.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, data_only: bool = False) -> None:
        self.space: int | None = None
        self.data_only = data_only
        monkeypatch.setattr(durable, "open", self._open, raising=False)

    def _open(self, path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        file = open(path, mode, *args, **kwargs)  # noqa: SIM115 - _Sink closes it
        if self.data_only and ".syncline" in Path(path).parts:
            return file
        return _Sink(self, file) if any(c in mode for c in "wa+") else file

    def use(self, size: int) -> None:
        if self.space is not None:
            self.space -= size


def _fail_next_folder_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the next sync of a folder (after a rename into it) fail with EIO, once."""
    sync_folder = durable.fsync_directory
    failures = [OSError(errno.EIO, "Input/output error")]

    def failing_once(folder: Path) -> None:
        if failures:
            raise failures.pop()
        sync_folder(folder)

    monkeypatch.setattr(durable, "fsync_directory", failing_once)


CASES = [
    ("people.{kind}", SyncMode.UPSERT, WriteAction.UPSERT),
    ("events.{kind}", SyncMode.APPEND, WriteAction.APPEND),
    ("log_{{run_id}}.{kind}", SyncMode.UPSERT, WriteAction.UPSERT),
]
IDS = ["maintained-upsert", "maintained-append", "per-run"]


def _open_with_first_rows(
    make: Make, name: str, mode: SyncMode, action: WriteAction
) -> Destination:
    """A destination open on file ``name`` that has written the first ten rows."""
    destination = make()
    destination.open(context(name, mode))
    destination.write_batch(batch(action, ROWS[:10]))
    return destination


def _write_the_rest(destination: Destination, action: WriteAction) -> None:
    """Send the second batch again, then the third, and end the run."""
    destination.write_batch(batch(action, ROWS[10:20]))
    destination.write_batch(batch(action, ROWS[20:]))
    destination.finish()
    destination.close()


def _ids(kind: str, path: Path) -> list[int]:
    return [r["id"] for r in read_records(kind, path)]


@pytest.mark.parametrize(("name", "mode", "action"), CASES, ids=IDS)
@pytest.mark.parametrize("space", [0, 150], ids=["full", "torn"])
def test_a_batch_retried_after_a_full_disk_is_written_once(
    make: Make,
    kind: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    mode: SyncMode,
    action: WriteAction,
    space: int,
) -> None:
    disk = _Disk(monkeypatch)
    name = name.format(kind=kind)
    destination = _open_with_first_rows(make, name, mode, action)

    disk.space = space
    with pytest.raises(TransientError, match="No space left on device"):
        destination.write_batch(batch(action, ROWS[10:20]))
    disk.space = None  # room again: the engine's retry sends the batch once more
    _write_the_rest(destination, action)

    path = tmp_path / "out" / name.replace("{run_id}", "1")
    assert _ids(kind, path) == list(range(1, 31))


@pytest.mark.parametrize("space", [0, 30], ids=["full", "torn"])
def test_a_new_file_whose_first_batch_was_retried_is_written_once(
    make: Make, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, space: int
) -> None:
    disk = _Disk(monkeypatch, data_only=True)
    name = f"events.{kind}"
    destination = make()
    destination.open(context(name, SyncMode.APPEND))

    disk.space = space
    with pytest.raises(TransientError, match="No space left on device"):
        destination.write_batch(batch(WriteAction.APPEND, ROWS[:10]))
    disk.space = None
    destination.write_batch(batch(WriteAction.APPEND, ROWS[:10]))
    destination.finish()
    destination.close()

    assert _ids(kind, tmp_path / "out" / name) == list(range(1, 11))


@pytest.mark.parametrize(("name", "mode", "action"), CASES[:2], ids=IDS[:2])
def test_a_run_ended_by_a_full_disk_keeps_the_acknowledged_rows_for_the_next(
    make: Make,
    kind: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    mode: SyncMode,
    action: WriteAction,
) -> None:
    disk = _Disk(monkeypatch)
    name = name.format(kind=kind)
    destination = _open_with_first_rows(make, name, mode, action)

    disk.space = 150
    with pytest.raises(TransientError, match="No space left on device"):
        destination.write_batch(batch(action, ROWS[10:20]))
    destination.close()  # the engine's retries ran out: the run ends without finish()
    disk.space = None

    run(make(), context(name, mode, run_id=2), [batch(action, ROWS[10:])])

    path = tmp_path / "out" / name
    assert _ids(kind, path) == list(range(1, 31))


@pytest.mark.parametrize(("name", "mode", "action"), CASES, ids=IDS)
def test_a_batch_retried_after_its_folder_failed_to_sync_is_written_once(
    make: Make,
    kind: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    mode: SyncMode,
    action: WriteAction,
) -> None:
    name = name.format(kind=kind)
    destination = _open_with_first_rows(make, name, mode, action)

    # The batch's data is renamed into place, then syncing its folder fails once.
    _fail_next_folder_sync(monkeypatch)
    with pytest.raises(TransientError, match="Input/output error"):
        destination.write_batch(batch(action, ROWS[10:20]))
    _write_the_rest(destination, action)

    path = tmp_path / "out" / name.replace("{run_id}", "1")
    assert _ids(kind, path) == list(range(1, 31))


@pytest.mark.parametrize(("name", "mode", "action"), CASES[:2], ids=IDS[:2])
def test_a_run_ended_by_a_folder_that_failed_to_sync_keeps_the_acknowledged_rows(
    make: Make,
    kind: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    mode: SyncMode,
    action: WriteAction,
) -> None:
    name = name.format(kind=kind)
    destination = _open_with_first_rows(make, name, mode, action)

    _fail_next_folder_sync(monkeypatch)
    with pytest.raises(TransientError, match="Input/output error"):
        destination.write_batch(batch(action, ROWS[10:20]))
    destination.close()  # the engine's retries ran out: the run ends without finish()

    run(make(), context(name, mode, run_id=2), [batch(action, ROWS[10:])])

    path = tmp_path / "out" / name
    assert _ids(kind, path) == list(range(1, 31))


def _refuse_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every new file in the destination's folder fail as an immutable folder does."""

    def refusing_open(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if "w" in mode or "a" in mode:
            raise PermissionError(errno.EPERM, "Operation not permitted")
        return open(path, mode, *args, **kwargs)

    monkeypatch.setattr(durable, "open", refusing_open, raising=False)


@pytest.mark.parametrize(("name", "mode", "action"), CASES[:2], ids=IDS[:2])
def test_a_folder_that_refuses_writes_fails_the_run_with_one_line(
    make: Make,
    kind: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    name: str,
    mode: SyncMode,
    action: WriteAction,
) -> None:
    name = name.format(kind=kind)
    destination = _open_with_first_rows(make, name, mode, action)

    _refuse_writes(monkeypatch)
    with pytest.raises(TerminalError, match="Operation not permitted; give Syncline write"):
        destination.write_batch(batch(action, ROWS[10:20]))
    destination.close()

    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_file_that_cannot_be_put_back_is_logged_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    destination = _open_with_first_rows(
        lambda: FORMATS["csv"](tmp_path / "out"), "people.csv", SyncMode.UPSERT, WriteAction.UPSERT
    )

    # The new file is renamed into place, its folder fails to sync, and putting the
    # acknowledged records back then finds the folder closed to writes.
    _fail_next_folder_sync(monkeypatch)
    with pytest.raises(TransientError):
        destination.write_batch(batch(WriteAction.UPSERT, [{"id": 1, "name": "changed"}]))
    _refuse_writes(monkeypatch)
    destination.close()

    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not record.exc_info
    assert "people.csv" in record.getMessage()
    assert "unfinished run" not in record.getMessage()


def test_a_state_folder_that_refuses_writes_is_named_not_the_data_file(
    make: Make, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "out").mkdir()
    real_mkdir = Path.mkdir

    def refusing_mkdir(self: Path, *args: Any, **kwargs: Any) -> None:
        if ".syncline" in self.parts:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refusing_mkdir)
    with pytest.raises(TerminalError) as caught:
        make().open(context(f"people.{kind}", SyncMode.UPSERT))

    message = str(caught.value)
    assert str(tmp_path / "out" / ".syncline") in message
    assert "Permission denied" in message
