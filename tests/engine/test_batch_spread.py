"""A run that sends fewer rows than its connections could take cuts them over all of them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from engine_doubles import Harness, MemoryDestination, people

from syncline.engine.delivery import MIN_SPREAD_BATCH_ROWS
from syncline.engine.report import RunStatus

ROWS = 12_000


def _sync(tmp_path: Path, concurrency: int, rows: int = ROWS) -> Harness:
    destination = MemoryDestination(max_batch_rows=50_000, max_concurrency=concurrency)
    model = people([(i, f"n{i}", float(i)) for i in range(rows)])
    return Harness(tmp_path, model, {"mode": "mirror", "object": "p"}, "id", destination)


def test_rows_are_cut_into_about_one_batch_per_connection(tmp_path: Path) -> None:
    sync = _sync(tmp_path, concurrency=4)
    result = sync.run()

    assert result.status is RunStatus.SUCCESS
    assert [len(batch) for batch in sync.destination.batches] == [3_000] * 4
    assert len(sync.destination.records) == ROWS
    sent = Counter(key for batch in sync.destination.batches for key in batch.keys)
    assert len(sent) == ROWS
    assert set(sent.values()) == {1}


def test_a_single_connection_keeps_the_destinations_batch_size(tmp_path: Path) -> None:
    sync = _sync(tmp_path, concurrency=1)
    sync.run()

    assert [len(batch) for batch in sync.destination.batches] == [ROWS]


def test_batches_are_not_cut_below_the_floor(tmp_path: Path) -> None:
    sync = _sync(tmp_path, concurrency=4, rows=3_000)
    sync.run()

    sizes = [len(batch) for batch in sync.destination.batches]
    assert sizes == [MIN_SPREAD_BATCH_ROWS, 3_000 - MIN_SPREAD_BATCH_ROWS]
