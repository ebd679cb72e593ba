"""A failed run's error names the connector once, whatever the connector's own wording;
a cancelled run's model query is stopped."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import duckdb
import pyarrow as pa
import pytest
from engine_doubles import ArrowSource, Harness, people

from syncline.connectors.sources.interruptible import interruptible
from syncline.engine.planner.local import LocalPlanner
from syncline.engine.report import RunStatus
from syncline.engine.run import RunResult, _describe
from syncline.errors import TerminalError


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("table crm.people is missing", "postgres: table crm.people is missing"),
        ("Postgres refused the password", "Postgres refused the password"),
    ],
)
def test_the_connector_is_named_once(message: str, expected: str) -> None:
    assert _describe(TerminalError(message, connector="postgres")) == expected


def test_a_cancel_stops_the_model_query_it_arrives_during(tmp_path: Path) -> None:
    cancelled = threading.Event()
    read = ArrowSource.read

    def slow_read(source: ArrowSource, query: str, **kwargs: Any) -> Iterator[pa.RecordBatch]:
        def query_runs() -> None:
            # Stands for a model query that runs until the driver cancels it.
            assert cancelled.wait(5), "the query was never cancelled"
            raise RuntimeError("canceling statement due to user request")

        interruptible(query_runs, cancelled.set)
        yield from read(source, query, **kwargs)

    sync = Harness(tmp_path, people([(1, "a", 1.0)]))
    results: list[RunResult] = []
    with mock.patch.object(ArrowSource, "read", slow_read):
        # On a worker's thread, as a run is; the cancel is asked for from the start.
        worker = threading.Thread(target=lambda: results.append(sync.run(cancel_after=0)))
        worker.start()
        worker.join(30)

    assert cancelled.is_set()
    (result,) = results
    assert result.status is RunStatus.CANCELLED, result.error
    assert sync.sent() == []


@pytest.mark.parametrize(("budget", "named"), [(None, "192MiB"), ("512MB", "512MB")])
def test_a_planner_out_of_memory_names_the_budget_to_raise(
    tmp_path: Path, budget: str | None, named: str
) -> None:
    harness = Harness(tmp_path, people([(1, "ann", 1.0)]))
    full = duckdb.OutOfMemoryException("Out of Memory Error: failed to pin block\n\nPossible...")
    with mock.patch.object(LocalPlanner, "diff", side_effect=full):
        result = harness.run(join_memory=budget)

    assert result.status is RunStatus.FAILED
    assert result.code == "PLANNER_OUT_OF_MEMORY"
    assert result.exception is None  # not taken for a bug
    assert result.error is not None
    assert f"under its budget of {named}: set SYNCLINE_PLANNER_JOIN_MEMORY higher" in result.error
    assert "failed to pin block" in result.error
    assert "Possible" not in result.error
