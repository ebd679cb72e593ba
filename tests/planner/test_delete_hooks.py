"""A sync deleted through the API takes its warehouse planner tables with it.

The source is DuckDB with ``planner: warehouse``, created through the API as a user
would, so the test also shows the two planner keys pass the configuration path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from engine_doubles import MemoryDestination, Reporter
from fastapi.testclient import TestClient

from syncline.api import create_app
from syncline.catalog import Catalog
from syncline.connectors.sources.duckdb import DuckDBConfig, DuckDBSource
from syncline.engine.config import SyncConfiguration
from syncline.engine.run import RunJob, execute_run
from syncline.security.secrets import SecretBox
from syncline.settings import Settings


@pytest.fixture
def client(tmp_path: Path, secret_box: SecretBox) -> Iterator[tuple[TestClient, str]]:
    catalog = Catalog.from_url(f"sqlite:///{tmp_path / 'syncline.db'}", secrets=secret_box)
    with catalog.session() as session:
        key = session.keys.create("tests").key
    app = create_app(catalog, Settings(home=tmp_path, file_roots=(tmp_path,)), background=False)
    with TestClient(app, raise_server_exceptions=False) as made:
        yield made, key
    catalog.close()


def planner_tables(path: Path) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'planner_state' ORDER BY table_name"
        ).fetchall()
    return [str(name) for (name,) in rows]


def test_deleting_a_sync_drops_its_warehouse_planner_tables(
    client: tuple[TestClient, str], tmp_path: Path
) -> None:
    http, key = client
    headers = {"Authorization": f"Bearer {key}"}
    database = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("CREATE TABLE users AS SELECT range AS id, 'n' || range AS name FROM range(5)")
    configuration = {
        "path": str(database),
        "planner": "warehouse",
        "plannerSchema": "planner_state",
    }

    def post(path: str, body: dict[str, object]) -> int:
        response = http.post(f"/api/v1{path}", json=body, headers=headers)
        assert response.status_code == 200, response.text
        return int(response.json()["id"])

    source = post(
        "/sources",
        {"name": "W", "slug": "w", "type": "duckdb", "configuration": configuration},
    )
    stored = http.get(f"/api/v1/sources/{source}", headers=headers).json()["configuration"]
    assert stored["planner"] == "warehouse"
    assert stored["plannerSchema"] == "planner_state"
    destination = post(
        "/destinations",
        {
            "name": "Out",
            "slug": "out",
            "type": "csv",
            "configuration": {"directory": str(tmp_path / "out")},
        },
    )
    model = post(
        "/models",
        {
            "name": "Users",
            "slug": "users",
            "primaryKey": "id",
            "sourceId": source,
            "queryType": "raw_sql",
            "isSchema": False,
            "raw": {"sql": "select id, name from users"},
        },
    )
    sync_configuration = {"mode": "upsert", "object": "users"}
    syncs = [
        post(
            "/syncs",
            {
                "slug": slug,
                "modelId": model,
                "destinationId": destination,
                "schedule": None,
                "disabled": False,
                "configuration": sync_configuration,
            },
        )
        for slug in ("first", "second")
    ]
    for sync_id in syncs:
        result = execute_run(
            RunJob(
                sync_id=sync_id,
                run_id=1,
                source=DuckDBSource(DuckDBConfig.parse(configuration)),
                model_query="select id, name from users",
                primary_key="id",
                configuration=SyncConfiguration.parse(sync_configuration),
                destination=MemoryDestination(),
                snapshot_dir=tmp_path / "snapshots",
            ),
            Reporter(),
        )
        assert result.status.value == "success", result.error
    kept, deleted = syncs
    assert f"sync_{deleted}_snapshot" in planner_tables(database)

    assert http.delete(f"/api/v1/syncs/{deleted}", headers=headers).status_code == 200
    assert planner_tables(database) == [
        f"sync_{kept}_{table}" for table in ("failed", "journal", "meta", "snapshot")
    ]
