"""Per-destination ``batch_size`` and ``concurrency``: bounded by the destination, used by runs."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from syncline.connectors.destinations.base import BatchResult, DestinationConfig, WriteBatch
from syncline.connectors.destinations.sqlite.client import SQLiteDestination
from syncline.connectors.registry import destination_class, destination_types, source_class
from syncline.engine.config import SyncConfiguration
from syncline.engine.report import RunStatus
from syncline.engine.run import RunJob, execute_run
from syncline.errors import ValidationError


class _CountingSQLite(SQLiteDestination):
    """The SQLite destination, remembering how many rows each batch carried."""

    sizes: list[int]

    def write_batch(self, batch: WriteBatch) -> BatchResult:
        self.sizes.append(len(batch))
        return super().write_batch(batch)


class _Reporter:
    def stage(self, status: RunStatus) -> None: ...

    def progress(self, progress: object) -> None: ...

    def rejected(self, rows: list[object]) -> None: ...

    def succeeded(self, rows: object) -> None: ...

    def settle_interrupted(self, outcome: object) -> None: ...

    def cancel_requested(self) -> bool:
        return False


def test_every_batching_destination_declares_the_limits_of_its_capabilities() -> None:
    checked = 0
    for name in destination_types():
        cls = destination_class(name)
        if not issubclass(cls.config_model, DestinationConfig):
            continue
        checked += 1
        assert cls.config_model.max_batch_rows == cls.capabilities.max_batch_rows, name
        assert cls.config_model.max_concurrency == cls.capabilities.max_concurrency, name
    assert checked >= 5


def test_a_batch_size_above_the_destinations_limit_is_refused_where_it_is_written() -> None:
    config = destination_class("postgres").config_model
    with pytest.raises(ValidationError) as raised:
        config.parse({"database": "d", "batch_size": 50_001})
    assert "batch_size" in str(raised.value)
    assert "50000" in str(raised.value)

    with pytest.raises(ValidationError, match="concurrency may be at most 4"):
        config.parse({"database": "d", "concurrency": 5})
    with pytest.raises(ValidationError, match="one batch at a time"):
        destination_class("mysql").config_model.parse({"database": "d", "concurrency": 2})
    with pytest.raises(ValidationError, match="batch_size"):
        config.parse({"database": "d", "batch_size": 0})


def test_the_configured_batch_size_and_concurrency_apply_within_the_limits() -> None:
    postgres = destination_class("postgres")
    assert postgres.from_config({"database": "d"}).batch_rows == 50_000
    assert postgres.from_config({"database": "d", "batch_size": 500}).batch_rows == 500
    assert postgres.from_config({"database": "d", "concurrency": 1}).write_concurrency == 1
    assert postgres.from_config({"database": "d"}).write_concurrency == 4


def test_a_run_hands_over_batches_of_the_configured_size(tmp_path: Path) -> None:
    model = tmp_path / "model.duckdb"
    with duckdb.connect(str(model)) as conn:
        conn.execute("CREATE TABLE people AS SELECT i AS id, 'n' || i AS name FROM range(10) t(i)")
    destination = _CountingSQLite(
        _CountingSQLite.config_model.parse({"path": str(tmp_path / "out.sqlite"), "batch_size": 4})
    )
    destination.sizes = []
    job = RunJob(
        sync_id=1,
        run_id=1,
        source=source_class("duckdb").from_config({"path": str(model)}),
        model_query="SELECT id, name FROM people",
        primary_key="id",
        configuration=SyncConfiguration.parse(
            {"mode": "mirror", "object": "people", "createObject": True}
        ),
        destination=destination,
        snapshot_dir=tmp_path / "snapshots",
    )

    result = execute_run(job, _Reporter())  # type: ignore[arg-type]

    assert result.status is RunStatus.SUCCESS, result.error
    assert destination.sizes == [4, 4, 2]
