"""PostgreSQL's own column types plan alike on the warehouse planner and the local one.

Arrays, ``money``, ``interval``, ``uuid`` and JSON come out of PostgreSQL as Arrow lists,
decimals and text; the warehouse planner prints them in SQL instead. Both planners must
accept every such column, see the same real changes and ignore the same noise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from engine_doubles import MemoryDestination, Reporter

from syncline.connectors.sources.postgres import PostgresConfig, PostgresSource
from syncline.engine.config import SyncConfiguration
from syncline.engine.run import RunJob, execute_run

pytestmark = pytest.mark.postgres

COLUMNS = (
    "id bigint PRIMARY KEY, ints int[], texts text[], cash money, nums numeric[], "
    "stamps timestamptz[], doc jsonb, raw json, span interval, tag uuid"
)

ROWS = (
    "(1, '{1,2}', '{a,b}', 1.50, '{1.50,2}', '{2024-01-01 10:00+00}', "
    """'{"b": 1, "a": [1.0, 2]}', '{"b": 1, "a": 2}', '1 day', """
    "'6c1a1f04-5b0e-4a53-9a39-2c4f6d3c1a10'), "
    "(2, '{}', '{NULL,\"\"}', 0, '{}', '{}', 'null', '[]', '0', NULL), "
    "(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
)


def _run(
    database: str,
    planner: str,
    sync_id: int,
    destination: Any,
    snapshots: Path,
    query: str = "SELECT * FROM model",
) -> Any:
    config: dict[str, Any] = {"host": "127.0.0.1", "user": "postgres", "database": database}
    if planner == "warehouse":
        config.update(planner="warehouse", plannerSchema="planner_state")
    job = RunJob(
        sync_id=sync_id,
        run_id=1,
        source=PostgresSource(PostgresConfig.parse(config)),
        model_query=query,
        primary_key="id",
        configuration=SyncConfiguration.parse({"mode": "mirror", "object": "things"}),
        destination=destination,
        snapshot_dir=snapshots,
    )
    return execute_run(job, Reporter())


def _plans_on_both(
    database: str, destinations: dict[str, Any], snapshots: Path
) -> dict[str, dict[str, int]]:
    """One successful run of ``model`` on each planner, into that planner's destination
    of ``destinations`` (by planner name): the counts each planned."""
    plans = {}
    for sync_id, (planner, destination) in enumerate(destinations.items(), start=1):
        result = _run(database, planner, sync_id, destination, snapshots)
        assert result.status.value == "success", (planner, result.error)
        plans[planner] = result.progress.planned.as_api()
    return plans


def test_postgres_types_plan_alike_on_both_planners(
    make_postgres_database: Any, tmp_path: Path
) -> None:
    database = make_postgres_database().rsplit("/", 1)[-1]
    admin = psycopg.connect(f"host=127.0.0.1 user=postgres dbname={database}", autocommit=True)
    admin.execute(f"CREATE TABLE model ({COLUMNS})")
    admin.execute(f"INSERT INTO model VALUES {ROWS}")
    destinations = {"local": MemoryDestination(), "warehouse": MemoryDestination()}

    try:
        first = _plans_on_both(database, destinations, tmp_path)
        assert first["local"] == first["warehouse"]
        assert first["local"]["addedCount"] == 3

        # The same values spelt otherwise: scale, key order, another zone, 24 hours.
        admin.execute(
            "UPDATE model SET nums = '{1.5,2.00}', stamps = '{2024-01-01 11:00+01}', "
            """raw = '{"b": 1, "a": 2.0}' WHERE id = 1"""
        )
        noise = _plans_on_both(database, destinations, tmp_path)
        assert noise["local"] == noise["warehouse"]
        assert noise["local"]["changedCount"] == 0

        # Real changes, one column each.
        admin.execute("UPDATE model SET ints = '{2,1}' WHERE id = 1")
        admin.execute("UPDATE model SET cash = 0.01, texts = '{NULL}' WHERE id = 2")
        admin.execute("UPDATE model SET tag = '00000000-0000-0000-0000-000000000001' WHERE id = 3")
        changed = _plans_on_both(database, destinations, tmp_path)
        assert changed["local"] == changed["warehouse"]
        assert changed["local"]["changedCount"] == 3
    finally:
        admin.close()

    assert destinations["local"].records == destinations["warehouse"].records
