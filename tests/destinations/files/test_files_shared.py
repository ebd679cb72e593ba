"""Two syncs writing one maintained file at the same time, each in a thread of its own."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pytest
from file_helpers import FORMATS, batch, context, read_records, run

from syncline.connectors.destinations.base import Destination, SyncMode, WriteAction
from syncline.connectors.destinations.files import CSVDestination, shared
from syncline.errors import TerminalError, TransientError

Make = Callable[[], Destination]
Rows = list[dict[str, object]]

SEED = [{"id": i, "name": f"name {i}"} for i in range(1, 13)]


Work = dict[int, tuple[Make, str, list[Rows]]]


def _write_at_once(work: Work, *, turns: bool) -> None:
    """One run per sync id of ``work`` (destination, file name, batches), all open at
    once, writing their batches in step.

    With ``turns`` the runs take turns batch by batch; without, each step's batches
    start together.
    """
    step = threading.Barrier(len(work))
    turn = threading.Lock()

    def write(sync_id: int, make: Make, name: str, batches: list[Rows]) -> None:
        destination = make()
        destination.open(context(name, SyncMode.MIRROR, sync_id=sync_id, run_id=100 + sync_id))
        try:
            for rows in batches:
                step.wait(timeout=30)
                with turn if turns else threading.Lock():
                    destination.write_batch(batch(WriteAction.UPSERT, rows))
                step.wait(timeout=30)
            destination.finish()
        except BaseException:
            step.abort()  # the other writer stops waiting for this one
            raise
        finally:
            destination.close()

    with ThreadPoolExecutor(len(work)) as pool:
        for future in [pool.submit(write, s, *w) for s, w in work.items()]:
            future.result()


@pytest.mark.parametrize("turns", [True, False], ids=["in-turns", "simultaneous"])
@pytest.mark.parametrize("added", [False, True], ids=["changed", "added"])
def test_two_syncs_writing_one_maintained_file_at_once_lose_no_row(
    make: Make, kind: str, tmp_path: Path, added: bool, turns: bool
) -> None:
    name = f"people.{kind}"
    run(make(), context(name, SyncMode.MIRROR, sync_id=1), [batch(WriteAction.UPSERT, SEED)])

    # Sync 1 writes the odd ids, sync 2 the even ones: changed records, or new ones.
    first = 100 if added else 0
    work = {
        sync_id: (
            make,
            name,
            [[{"id": first + i, "name": f"by {sync_id}"}] for i in range(sync_id, 13, 2)],
        )
        for sync_id in (1, 2)
    }
    _write_at_once(work, turns=turns)

    records = {r["id"]: r["name"] for r in read_records(kind, tmp_path / "out" / name)}
    expected = {r["id"]: r["name"] for r in SEED}
    expected |= {first + i: f"by {2 - i % 2}" for i in range(1, 13)}
    assert records == expected


def test_a_batch_waiting_too_long_for_another_writer_fails_to_be_retried(
    make: Make, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"people.{kind}"
    run(make(), context(name, SyncMode.MIRROR, sync_id=1), [batch(WriteAction.UPSERT, SEED)])
    destination = make()
    destination.open(context(name, SyncMode.MIRROR, sync_id=2, run_id=2))
    monkeypatch.setattr(shared, "LOCK_WAIT_SECONDS", 0.2)

    # Another process's batch holds the file, and does not let go.
    other = shared.SharedFile(tmp_path / "out" / name, tmp_path / "out" / ".syncline" / "locks")
    with other.held(), pytest.raises(TransientError, match="gave up waiting"):
        destination.write_batch(batch(WriteAction.UPSERT, SEED[:1]))
    destination.close()


def test_destinations_reaching_one_file_from_two_folders_lose_no_row(
    kind: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    outer: Make = lambda: FORMATS[kind](out)  # noqa: E731
    inner: Make = lambda: FORMATS[kind](out / "sub")  # noqa: E731
    name = f"people.{kind}"
    run(
        outer(),
        context(f"sub/{name}", SyncMode.MIRROR, sync_id=1),
        [batch(WriteAction.UPSERT, SEED)],
    )

    work = {
        1: (outer, f"sub/{name}", [[{"id": i, "name": "by 1"}] for i in range(1, 13, 2)]),
        2: (inner, name, [[{"id": i, "name": "by 2"}] for i in range(2, 13, 2)]),
    }
    _write_at_once(work, turns=True)

    records = {r["id"]: r["name"] for r in read_records(kind, out / "sub" / name)}
    assert records == {i: f"by {2 - i % 2}" for i in range(1, 13)}


def test_a_headerless_file_read_with_another_delimiter_is_blamed_on_the_delimiter(
    tmp_path: Path,
) -> None:
    # ':' is no common delimiter, so only the missing ids tell, and the reason names it.
    schema = pa.schema([("name", pa.string()), ("id", pa.int64())])
    rows = [{"name": "ada", "id": 1}, {"name": "bob", "id": 2}]
    folder = str(tmp_path / "out")
    semicolons = CSVDestination.from_config(
        {"directory": folder, "header": False, "delimiter": ":"}
    )
    commas = CSVDestination.from_config({"directory": folder, "header": False})
    run(
        semicolons,
        context("p.csv", SyncMode.UPSERT, schema=schema, sync_id=1),
        [batch(WriteAction.UPSERT, rows, schema)],
    )

    with pytest.raises(TerminalError, match="has the id field 'id'") as caught:
        run(
            commas,
            context("p.csv", SyncMode.UPSERT, schema=schema, sync_id=2, run_id=2),
            [batch(WriteAction.UPSERT, rows, schema)],
        )
    assert "one field per line" in str(caught.value)
    assert "delimiter ','" in str(caught.value)


def test_a_headerless_file_written_with_another_delimiter_is_refused_not_rewritten(
    tmp_path: Path,
) -> None:
    folder = str(tmp_path / "out")
    semicolons = CSVDestination.from_config(
        {"directory": folder, "header": False, "delimiter": ";"}
    )
    commas = CSVDestination.from_config({"directory": folder, "header": False})
    run(semicolons, context("p.csv", SyncMode.UPSERT, sync_id=1), [batch(WriteAction.UPSERT, SEED)])
    path = tmp_path / "out" / "p.csv"
    written = path.read_bytes()

    with pytest.raises(TerminalError, match="delimiter ';'"):
        run(
            commas,
            context("p.csv", SyncMode.UPSERT, sync_id=2, run_id=2),
            [batch(WriteAction.UPSERT, SEED[:1])],
        )
    assert path.read_bytes() == written
