"""DuckDB's extreme values into every file format, through the engine: exact, and a
second run over the same model plans nothing."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from engine_runs import StrictReporter, run_sync
from syncline.connectors.registry import destination_class, source_class
from syncline.engine.report import RunStatus
from syncline.engine.run import RunResult

UHUGEINT_MAX = 2**128 - 1
HUGEINT_MAX = 2**127 - 1
HUGEINT_MIN = -(2**127)


def run(kind: str, folder: Path, query: str, run_id: int) -> RunResult:
    result = run_sync(
        source_class("duckdb").from_config({}),
        query,
        {"mode": "mirror", "object": f"out.{kind}"},
        destination_class(kind).from_config({"directory": str(folder / "out")}),
        folder / "snapshots",
        run_id=run_id,
        reporter=StrictReporter(),
    )
    assert result.status is RunStatus.SUCCESS, result.error
    return result


def stored(kind: str, folder: Path) -> Any:
    """The one value of column ``v`` in the written file, as the file spells it."""
    path = folder / "out" / f"out.{kind}"
    if kind == "csv":
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        return rows[0]["v"]
    if kind == "jsonl":
        return json.loads(path.read_text().splitlines()[0])["v"]
    table = pq.read_table(path)
    return (
        table.column("v")[0].value
        if "time" in str(table.schema.field("v").type)
        else (table.column("v")[0].as_py())
    )


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (f"{UHUGEINT_MAX}::UHUGEINT", str(UHUGEINT_MAX)),
        (f"{HUGEINT_MAX}::HUGEINT", str(HUGEINT_MAX)),
        (f"({HUGEINT_MIN + 1})::HUGEINT - 1", str(HUGEINT_MIN)),
    ],
)
def test_wide_integers_arrive_exact(
    kind: str, tmp_path: Path, expression: str, expected: str
) -> None:
    query = f"SELECT 1 AS id, {expression} AS v"

    run(kind, tmp_path, query, 1)
    assert str(stored(kind, tmp_path)) == expected

    assert not any(run(kind, tmp_path, query, 2).progress.planned.as_api().values())


def test_the_end_of_a_day_arrives(kind: str, tmp_path: Path) -> None:
    query = "SELECT 1 AS id, TIME '24:00:00' AS v"

    run(kind, tmp_path, query, 1)
    value = stored(kind, tmp_path)
    if kind == "parquet":
        assert value == 86_400_000_000
    else:
        assert value == "24:00:00.000000"

    assert not any(run(kind, tmp_path, query, 2).progress.planned.as_api().values())


def test_nanosecond_timestamps_are_written_exactly(kind: str, tmp_path: Path) -> None:
    query = "SELECT 1 AS id, TIMESTAMP_NS '2024-01-01 00:00:00.123456789' AS v"

    run(kind, tmp_path, query, 1)
    value = stored(kind, tmp_path)
    if kind == "parquet":
        assert value == 1_704_067_200_123_456_789
    else:
        assert value == "2024-01-01T00:00:00.123456789"

    assert not any(run(kind, tmp_path, query, 2).progress.planned.as_api().values())
