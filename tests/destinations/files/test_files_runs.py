"""Per-run files, file names, folder checks and crash safety of the file destinations."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from file_helpers import ROOT_ROWS, batch, context, read_csv_text, read_records, run

from syncline.connectors.destinations.base import Destination, SyncMode, WriteAction
from syncline.connectors.destinations.files import (
    CSVDestination,
    JSONLinesDestination,
    durable,
    layout,
)
from syncline.errors import RunCancelled, TerminalError

Make = Callable[[], Destination]


def _op_records(kind: str, path: Path) -> list[tuple[object, object, object]]:
    return [(r["id"], r["name"], r["_syncline_operation"]) for r in read_records(kind, path)]


def test_each_run_writes_its_own_change_log(make: Make, kind: str, tmp_path: Path) -> None:
    name = "log/{sync_id}/people_{run_id}." + kind
    run(make(), context(name, SyncMode.MIRROR, run_id=1), [batch(WriteAction.UPSERT, ROOT_ROWS)])
    run(
        make(),
        context(name, SyncMode.MIRROR, run_id=2),
        [
            batch(WriteAction.UPSERT, [{"id": 2, "name": "bobby"}]),
            batch(WriteAction.DELETE, [{"id": 1}]),
        ],
    )

    folder = tmp_path / "out" / "log" / "7"
    assert sorted(p.name for p in folder.iterdir()) == [f"people_1.{kind}", f"people_2.{kind}"]
    assert _op_records(kind, folder / f"people_1.{kind}") == [
        (1, "ada", "upsert"),
        (2, "bob", "upsert"),
    ]
    assert _op_records(kind, folder / f"people_2.{kind}") == [
        (2, "bobby", "upsert"),
        (1, None, "delete"),
    ]


def test_a_run_without_changes_still_leaves_an_empty_file(
    make: Make, kind: str, tmp_path: Path
) -> None:
    run(make(), context("people_{run_id}." + kind, SyncMode.ALL, run_id=3), [])

    assert read_records(kind, tmp_path / "out" / f"people_3.{kind}") == []


def test_a_run_without_changes_leaves_an_empty_file_with_an_interval_field(
    make: Make, kind: str, tmp_path: Path
) -> None:
    schema = pa.schema([("id", pa.int64()), ("span", pa.month_day_nano_interval())])

    run(make(), context("spans_{run_id}." + kind, SyncMode.MIRROR, schema=schema, run_id=2), [])

    path = tmp_path / "out" / f"spans_2.{kind}"
    assert read_records(kind, path) == []
    if kind == "parquet":
        assert pq.read_schema(path).field("span").type == pa.string()


def test_timestamp_placeholder_names_a_new_file(make: Make, kind: str, tmp_path: Path) -> None:
    run(
        make(),
        context("p_{timestamp}." + kind, SyncMode.ALL),
        [batch(WriteAction.UPSERT, ROOT_ROWS)],
    )

    [path] = [p for p in (tmp_path / "out").iterdir() if p.is_file()]
    assert re.fullmatch(rf"p_\d{{8}}T\d{{6}}Z\.{kind}", path.name)


class _Clock(datetime):
    """A clock that stands still but for the time a run sleeps."""

    slept = 0.0

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _Clock:
        return cls(2026, 12, 5, 18, 0, 0, tzinfo=UTC) + timedelta(seconds=cls.slept)

    @classmethod
    def sleep(cls, seconds: float) -> None:
        cls.slept += seconds


def test_two_runs_opening_a_timestamped_file_in_one_second_write_two_files(
    make: Make, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_Clock, "slept", 0.0)
    monkeypatch.setattr(layout, "datetime", _Clock)
    monkeypatch.setattr(time, "sleep", _Clock.sleep)
    name = "ts_{timestamp}." + kind
    first, second = make(), make()
    first.open(context(name, SyncMode.MIRROR, sync_id=1, run_id=1))
    second.open(context(name, SyncMode.MIRROR, sync_id=2, run_id=2))
    for destination, rows in ((first, ROOT_ROWS[:1]), (second, ROOT_ROWS[1:])):
        destination.write_batch(batch(WriteAction.UPSERT, rows))
    for destination in (first, second):
        destination.finish()
        destination.close()

    files = sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_file())
    assert files == [f"ts_20261205T180000Z.{kind}", f"ts_20261205T180001Z.{kind}"]
    assert [_op_records(kind, tmp_path / "out" / f) for f in files] == [
        [(1, "ada", "upsert")],
        [(2, "bob", "upsert")],
    ]


def test_runs_opening_one_timestamped_name_together_each_wait_for_a_free_second(
    tmp_path: Path,
) -> None:
    claimers = 4
    start = threading.Barrier(claimers)
    errors: list[BaseException] = []

    def one_run(run_id: int) -> None:
        destination = JSONLinesDestination.from_config({"directory": str(tmp_path / "out")})
        start.wait()
        try:
            rows = [{"id": run_id, "name": f"run {run_id}"}]
            run(
                destination,
                context("j-{timestamp}.jsonl", SyncMode.ALL, run_id=run_id),
                [batch(WriteAction.UPSERT, rows)],
            )
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=one_run, args=(i,)) for i in range(1, claimers + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    files = sorted(p for p in (tmp_path / "out").iterdir() if p.is_file())
    assert len(files) == claimers
    written = sorted(record["id"] for f in files for record in read_records("jsonl", f))
    assert written == list(range(1, claimers + 1))


def test_a_timestamped_name_taken_past_the_wait_fails_naming_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_Clock, "slept", 0.0)
    monkeypatch.setattr(layout, "datetime", _Clock)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)  # the clock stands still
    (tmp_path / "out").mkdir()
    taken = tmp_path / "out" / "j-20261205T180000Z.jsonl"
    taken.write_bytes(b"another run's file")
    destination = JSONLinesDestination.from_config({"directory": str(tmp_path / "out")})

    with pytest.raises(TerminalError, match="every second for the last 120 seconds") as caught:
        destination.open(context("j-{timestamp}.jsonl", SyncMode.ALL))
    assert caught.value.code == "OBJECT_TAKEN"
    assert "put {run_id} in the file name" in str(caught.value)
    assert taken.read_bytes() == b"another run's file"


def test_a_run_asked_to_stop_while_it_waits_for_a_timestamped_name_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_Clock, "slept", 0.0)
    monkeypatch.setattr(layout, "datetime", _Clock)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)  # the clock stands still
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "j-20261205T180000Z.jsonl").write_bytes(b"another run's file")
    asked: list[int] = []

    def stop_requested() -> bool:
        asked.append(1)
        return len(asked) > 2

    ctx = replace(context("j-{timestamp}.jsonl", SyncMode.ALL), stop_requested=stop_requested)
    destination = JSONLinesDestination.from_config({"directory": str(tmp_path / "out")})
    with pytest.raises(RunCancelled, match="asked to stop"):
        destination.open(ctx)
    # Asked once a second of waiting, not at every look at the clock.
    assert len(asked) == 3


def test_a_per_run_file_that_exists_already_is_never_added_to(
    make: Make, kind: str, tmp_path: Path
) -> None:
    (tmp_path / "out").mkdir()
    taken = tmp_path / "out" / f"log_5.{kind}"
    taken.write_bytes(b"another run's file")

    with pytest.raises(TerminalError, match="already exists"):
        make().open(context("log_{run_id}." + kind, SyncMode.UPSERT, run_id=5))
    assert taken.read_bytes() == b"another run's file"


def test_update_mode_needs_a_maintained_file(make: Make, kind: str) -> None:
    with pytest.raises(TerminalError, match="mode 'update' needs a maintained file"):
        make().open(context("p_{run_id}." + kind, SyncMode.UPDATE))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("p_{day}.csv", "unknown placeholder"),
        ("../escape.csv", "relative path"),
        ("/abs.csv", "relative path"),
        (".syncline/x.csv", "may not start"),
        ("out/.syncline/x.csv", "pass through"),
    ],
)
def test_bad_file_names_are_refused(tmp_path: Path, name: str, message: str) -> None:
    destination = CSVDestination.from_config({"directory": str(tmp_path)})

    with pytest.raises(TerminalError, match=message):
        destination.open(context(name, SyncMode.UPSERT))


def test_test_creates_the_folder_and_refuses_one_that_cannot_exist(tmp_path: Path) -> None:
    CSVDestination.from_config({"directory": str(tmp_path / "a" / "b")}).test()
    assert (tmp_path / "a" / "b").is_dir()
    assert list((tmp_path / "a" / "b").iterdir()) == []

    (tmp_path / "plain").write_text("not a folder")
    for directory in (tmp_path / "plain" / "x", tmp_path / "plain"):
        destination = CSVDestination.from_config({"directory": str(directory)})
        with pytest.raises(TerminalError, match="plain' is a file, not a folder"):
            destination.test()


def test_appending_to_a_csv_with_other_columns_is_refused(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_text('"id","other"\n"1","x"\n')
    destination = CSVDestination.from_config({"directory": str(tmp_path)})

    with pytest.raises(TerminalError, match="has the columns"):
        destination.open(context("e.csv", SyncMode.APPEND))


def test_an_interrupted_append_is_cut_back_to_the_acknowledged_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    destination = JSONLinesDestination.from_config({"directory": str(tmp_path)})
    destination.open(context("events.jsonl", SyncMode.APPEND))
    destination.write_batch(batch(WriteAction.APPEND, ROOT_ROWS[:2]))
    acknowledged = (tmp_path / "events.jsonl").read_bytes()

    # The process dies while appending the next batch: half a line reached the file.
    def dying_open(path: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if mode == "ab":
            with open(path, mode) as sink:
                sink.write(b'{"id":3,"na')
            raise SystemExit(9)
        return open(path, mode, *args, **kwargs)

    monkeypatch.setattr(durable, "open", dying_open, raising=False)
    with pytest.raises(SystemExit):
        destination.write_batch(batch(WriteAction.APPEND, [{"id": 3, "name": "cy"}]))
    monkeypatch.undo()

    # Another sync writing the file next cuts it back first, and the next run of the
    # first sync keeps that sync's rows.
    other = JSONLinesDestination.from_config({"directory": str(tmp_path)})
    run(other, context("events.jsonl", SyncMode.APPEND, sync_id=8), [])
    assert (tmp_path / "events.jsonl").read_bytes() == acknowledged
    row = [{"id": 4, "name": "dee"}]
    run(
        other,
        context("events.jsonl", SyncMode.APPEND, sync_id=8, run_id=2),
        [batch(WriteAction.APPEND, row)],
    )
    again = JSONLinesDestination.from_config({"directory": str(tmp_path)})
    run(again, context("events.jsonl", SyncMode.APPEND, run_id=3), [])

    assert [r["id"] for r in read_records("jsonl", tmp_path / "events.jsonl")] == [1, 2, 4]


def test_a_crash_during_a_rewrite_leaves_the_old_file_whole(tmp_path: Path) -> None:
    destination = CSVDestination.from_config({"directory": str(tmp_path)})
    run(destination, context("p.csv", SyncMode.UPSERT), [batch(WriteAction.UPSERT, ROOT_ROWS)])
    before = (tmp_path / "p.csv").read_bytes()

    # A rewrite that died before its rename leaves only its scratch file behind.
    scratch = tmp_path / ".p.csv.syncline-tmp"
    scratch.write_bytes(b'"id","name"\n"1","half')
    assert (tmp_path / "p.csv").read_bytes() == before

    run(destination, context("p.csv", SyncMode.UPSERT, run_id=2), [])
    assert not scratch.exists()
    assert read_csv_text(tmp_path / "p.csv") == [
        {"id": "1", "name": "ada"},
        {"id": "2", "name": "bob"},
    ]


def test_close_without_finish_publishes_the_acknowledged_parquet_rows(tmp_path: Path) -> None:
    from syncline.connectors.destinations.files import ParquetDestination

    destination = ParquetDestination.from_config({"directory": str(tmp_path)})
    destination.open(context("p_{run_id}.parquet", SyncMode.UPSERT, run_id=4))
    destination.write_batch(batch(WriteAction.UPSERT, ROOT_ROWS[:1]))
    destination.close()

    assert pq.read_table(tmp_path / "p_4.parquet").column("id").to_pylist() == [1]


CRASHING_RUN = textwrap.dedent(
    """
    import os, sys
    import pyarrow as pa
    from syncline.connectors.destinations.base import (
        FieldSpec, SyncMode, WriteAction, WriteBatch, WriteContext,
    )
    from syncline.connectors.destinations.files import ParquetDestination, CSVDestination

    folder = sys.argv[1]
    fields = (FieldSpec("id", pa.int64()), FieldSpec("name", pa.string()))
    destinations = [
        (ParquetDestination.from_config({"directory": folder}), "log_{run_id}.parquet"),
        (CSVDestination.from_config({"directory": folder}), "state.csv"),
    ]
    for destination, name in destinations:
        destination.open(WriteContext(7, 41, name, SyncMode.UPSERT, "id", fields))
    for start in (0, 10):
        table = pa.table({"id": list(range(start, start + 10)),
                          "name": [f"n{i}" for i in range(start, start + 10)]})
        for destination, _ in destinations:
            destination.write_batch(WriteBatch(WriteAction.UPSERT, table, []))
        print(f"acknowledged {start + 10}", flush=True)
    os._exit(9)  # killed between batches: no finish(), no close()
    """
)


def test_a_process_killed_between_batches_leaves_exactly_the_acknowledged_rows(
    tmp_path: Path,
) -> None:
    script = tmp_path / "crash.py"
    script.write_text(CRASHING_RUN)
    folder = tmp_path / "out"

    done = subprocess.run(
        [sys.executable, str(script), str(folder)], capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 9, done.stderr
    assert done.stdout.split("\n")[-2] == "acknowledged 20"
    assert [r["id"] for r in read_csv_text(folder / "state.csv")] == [str(i) for i in range(20)]
    assert not (folder / "log_41.parquet").exists()
    parts = sorted((folder / ".syncline" / "sync-7" / "parts" / "run-41").glob("*.parquet"))
    assert [pq.read_table(p).num_rows for p in parts] == [10, 10]

    # The next run of the sync publishes the interrupted run's file.
    from syncline.connectors.destinations.files import ParquetDestination

    nxt = ParquetDestination.from_config({"directory": str(folder)})
    run(nxt, context("log_{run_id}.parquet", SyncMode.UPSERT, run_id=42), [])
    assert pq.read_table(folder / "log_41.parquet").column("id").to_pylist() == list(range(20))
    assert pq.read_table(folder / "log_42.parquet").num_rows == 0
    assert not (folder / ".syncline" / "sync-7" / "parts" / "run-41").exists()
    assert sorted(p.name for p in folder.iterdir()) == [
        ".syncline",
        "log_41.parquet",
        "log_42.parquet",
        "state.csv",
    ]


@pytest.mark.parametrize("below", ["", "deeper"])
def test_a_directory_that_is_a_file_fails_the_run_naming_it(tmp_path: Path, below: str) -> None:
    (tmp_path / "afile").write_text("not a folder")
    directory = tmp_path / "afile" / below if below else tmp_path / "afile"
    destination = CSVDestination.from_config({"directory": str(directory)})

    with pytest.raises(TerminalError, match="afile' is a file, not a folder"):
        destination.open(context("x.csv", SyncMode.UPSERT))
    destination.close()
