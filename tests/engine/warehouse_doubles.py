"""Model tables loaded into a real warehouse, for runs on the in-warehouse planner.

Which planner the engine doubles use is read from the environment, so that the
subprocesses of the kill-and-resume tests run on the same one as the test: unset or
``local`` keeps the Arrow source and the local planner (``narrow`` too, the planner taking
its narrow join whatever the snapshot's size); ``duckdb`` loads the model into
a DuckDB file beside the snapshots; ``postgres`` loads it into a schema of a PostgreSQL
database. Both use the real source with ``planner: warehouse``.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow as pa

from syncline.connectors.sources.base import Source, is_decimal_field, is_json_field
from syncline.connectors.sources.duckdb import DuckDBConfig, DuckDBSource
from syncline.connectors.sources.postgres import PostgresConfig, PostgresSource

PLANNER = "SYNCLINE_TEST_PLANNER"
"""``local``, ``narrow``, ``duckdb`` or ``postgres``: where the doubles' runs plan."""

LOCAL_VARIANTS = ("local", "narrow")
"""The variants that run on the local planner."""

DATABASE = "SYNCLINE_TEST_PLANNER_DATABASE"
"""The PostgreSQL database (on the test server) of the ``postgres`` variant."""

SCHEMA = "SYNCLINE_TEST_PLANNER_SCHEMA"
"""Prefix of the ``postgres`` variant's schemas: ``<prefix>_model`` and ``<prefix>_planner``."""

MODEL_QUERY = "SELECT * FROM model"


def planner_kind() -> str:
    """The planner the doubles run on in this process."""
    return os.environ.get(PLANNER, "local")


def warehouse_source(table: pa.Table, folder: Path) -> Source:
    """A source on the warehouse planner whose ``model`` table holds ``table``'s rows."""
    if planner_kind() == "duckdb":
        return _duckdb_source(table, folder)
    if planner_kind() == "postgres":
        return _postgres_source(table)
    raise ValueError(f"unknown planner variant {planner_kind()!r}")


def _duckdb_source(table: pa.Table, folder: Path) -> Source:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "warehouse.duckdb"
    columns = ", ".join(
        f'CAST("{f.name}" AS JSON) AS "{f.name}"' if is_json_field(f) else f'"{f.name}"'
        for f in table.schema
    )
    with duckdb.connect(str(path)) as con:
        con.register("_loaded", table)
        con.execute(f"CREATE OR REPLACE TABLE model AS SELECT {columns} FROM _loaded")
    return DuckDBSource(DuckDBConfig(path=path, planner="warehouse"))


def _postgres_source(table: pa.Table) -> Source:
    import adbc_driver_postgresql.dbapi

    database = os.environ[DATABASE]
    prefix = os.environ[SCHEMA]
    model_schema = f"{prefix}_model"
    with adbc_driver_postgresql.dbapi.connect(
        f"postgresql://postgres@127.0.0.1:5432/{database}"
    ) as connection:
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{model_schema}"')
            cursor.execute(f'DROP TABLE IF EXISTS "{model_schema}".model')
            cursor.adbc_ingest("model", table, mode="create", db_schema_name=model_schema)
            for field in table.schema:
                kind = "jsonb" if is_json_field(field) else None
                kind = "numeric" if is_decimal_field(field) else kind
                if kind is not None:
                    cursor.execute(
                        f'ALTER TABLE "{model_schema}".model ALTER COLUMN "{field.name}" '
                        f'TYPE {kind} USING "{field.name}"::{kind}'
                    )
        connection.commit()
    config = PostgresConfig.parse(
        {
            "host": "127.0.0.1",
            "user": "postgres",
            "database": database,
            "schema": model_schema,
            "planner": "warehouse",
            "plannerSchema": f"{prefix}_planner",
        }
    )
    return PostgresSource(config)
