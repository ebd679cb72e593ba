"""PostgreSQL dates Python cannot hold, synced into each file format: a template over one
rejects that row, a standard mapping writes it, and the run goes on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from file_helpers import read_records

from engine_runs import run_sync
from syncline.connectors.destinations.base import Destination
from syncline.connectors.sources.postgres import PostgresSource
from syncline.engine.report import RunStatus

QUERY = (
    "SELECT * FROM (VALUES (1, date '2020-01-01'), (2, date '0100-01-01 BC'), "
    "(3, date 'infinity'), (4, date '10000-01-01')) v(id, d)"
)


@pytest.mark.postgres
@pytest.mark.parametrize("mapping", ["template", "standard"])
def test_far_dates_from_postgres_never_fail_the_run(
    make_postgres_database: Callable[[], str],
    make: Callable[[], Destination],
    kind: str,
    tmp_path: Path,
    mapping: str,
) -> None:
    database = make_postgres_database().rsplit("/", 1)[1]
    source = PostgresSource.from_config(
        {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": database}
    )
    written = (
        {"type": "template", "template": "{{ d }}", "to": "dtxt"}
        if mapping == "template"
        else {"type": "standard", "from": "d", "to": "dtxt"}
    )
    configuration = {
        "mode": "mirror",
        "object": f"dates.{kind}",
        "mappings": [{"type": "standard", "from": "id", "to": "id"}, written],
    }

    result = run_sync(source, QUERY, configuration, make(), tmp_path / "state")

    path = tmp_path / "out" / f"dates.{kind}"
    if mapping == "template":
        assert result.status is RunStatus.WARNING, result.error
        assert (result.progress.successful.added, result.progress.failed.added) == (1, 3)
        assert read_records(kind, path) == [{"id": 1, "dtxt": "2020-01-01"}]
        return
    assert result.status is RunStatus.SUCCESS, result.error
    if kind == "parquet":
        assert pq.read_table(path).column("id").to_pylist() == [1, 2, 3, 4]
    else:
        assert [str(r["dtxt"]) for r in read_records(kind, path)] == [
            "2020-01-01",
            "-0099-01-01",
            "infinity",
            "10000-01-01",
        ]
