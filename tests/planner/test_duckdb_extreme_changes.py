"""Both planners over DuckDB's extreme values: a real change is planned, noise is not.

The local planner reads the model from an in-memory DuckDB source, the warehouse planner
runs it in a DuckDB file; both write to a DuckDB table, which holds nanoseconds. Over
the same sequence of models both must plan alike. A change of one nanosecond is a
change; the same instant as TIMESTAMP and TIMESTAMP_NS is not; 128-bit integers compare
exactly at both ends.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from engine_doubles import Reporter

from syncline.connectors.registry import destination_class
from syncline.connectors.sources.duckdb import DuckDBConfig, DuckDBSource
from syncline.engine.config import SyncConfiguration
from syncline.engine.run import RunJob, RunResult, execute_run

STAMP = "2024-01-01 00:00:00.123456"

STEPS: list[tuple[str, dict[str, int]]] = [
    (f"TIMESTAMP_NS '{STAMP}789'", {"addedCount": 1}),
    (f"TIMESTAMP_NS '{STAMP}789'", {}),
    (f"TIMESTAMP_NS '{STAMP}788'", {"changedCount": 1}),
    (f"TIMESTAMP_NS '{STAMP}000'", {"changedCount": 1}),
    # The same instant in microseconds, then back in nanoseconds: no change.
    (f"TIMESTAMP '{STAMP}'", {}),
    (f"TIMESTAMP_NS '{STAMP}000'", {}),
    ("TIMESTAMP_NS '1969-12-31 23:59:59.999999999'", {"changedCount": 1}),
    ("TIMESTAMP_NS '1969-12-31 23:59:59.999999998'", {"changedCount": 1}),
    ("'infinity'::TIMESTAMP_NS", {"changedCount": 1}),
    ("'infinity'::TIMESTAMP_NS", {}),
]

WIDE_STEPS: list[tuple[str, dict[str, int]]] = [
    (f"{2**128 - 1}::UHUGEINT", {"addedCount": 1}),
    (f"{2**128 - 1}::UHUGEINT", {}),
    (f"{2**128 - 2}::UHUGEINT", {"changedCount": 1}),
    (f"({-(2**127) + 1})::HUGEINT - 1", {"changedCount": 1}),
    (f"({-(2**127) + 1})::HUGEINT - 1", {}),
    (f"{2**127 - 1}::HUGEINT", {"changedCount": 1}),
    # The same number as another integer type: no change.
    ("7::HUGEINT", {"changedCount": 1}),
    ("7::UBIGINT", {}),
    ("7::UHUGEINT", {}),
]


def run(source: DuckDBSource, folder: Path, run_id: int, value: str) -> RunResult:
    job = RunJob(
        sync_id=5,
        run_id=run_id,
        source=source,
        model_query=f"SELECT 1 AS id, {value} AS v",
        primary_key="id",
        configuration=SyncConfiguration.parse(
            {"mode": "mirror", "object": "things", "guards": {"maxRemovedShare": 1}}
        ),
        destination=destination_class("duckdb").from_config({"path": str(folder / "out.db")}),
        snapshot_dir=folder / "snapshots",
    )
    return execute_run(job, Reporter())


@pytest.mark.parametrize("planner", ["local", "warehouse"])
@pytest.mark.parametrize("steps", [STEPS, WIDE_STEPS], ids=["nanoseconds", "wide"])
def test_each_planner_plans_real_changes_only(
    tmp_path: Path, planner: str, steps: list[tuple[str, dict[str, int]]]
) -> None:
    config = {"planner": planner}
    if planner == "warehouse":
        config["path"] = str(tmp_path / "warehouse.duckdb")
        duckdb.connect(config["path"]).close()
    source = DuckDBSource(DuckDBConfig.parse(config))

    for run_id, (value, expected) in enumerate(steps, start=1):
        result = run(source, tmp_path, run_id, value)
        assert result.status.value == "success", result.error
        counts = {k: n for k, n in result.progress.planned.as_api().items() if n}
        assert counts == expected, f"run {run_id}: {value}"
