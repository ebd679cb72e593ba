"""One dlt pipeline run: TPC-H ``orders`` from PostgreSQL into PostgreSQL.

Runs inside dlt's own virtual environment (see ``tools/dlt.py``); it imports nothing from
Syncline or the benchmark. Usage::

    python dlt_job.py MODE DATASET PIPELINES_DIR

The connection strings come from the environment (``BENCH_SOURCE_URL``,
``BENCH_DESTINATION_URL``; a password from ``SYNCLINE_BENCH_PG_PASSWORD``).
"""

from __future__ import annotations

import os
import sys

import dlt
from dlt.common.configuration.specs import ConnectionStringCredentials
from dlt.sources.sql_database import sql_table

SOURCE_SCHEMA = "tpch"
KEY_COLUMN = "o_orderkey"


def _credentials(variable: str) -> ConnectionStringCredentials:
    credentials = ConnectionStringCredentials(os.environ[variable])
    # dlt's PostgreSQL credentials insist on a password; a server that trusts the user
    # ignores whatever is sent.
    credentials.password = os.environ.get("SYNCLINE_BENCH_PG_PASSWORD") or "unused"
    return credentials


def main(mode: str, dataset: str, pipelines_dir: str) -> None:
    """Load the table once in ``mode``: ``upsert`` merges on the key, ``mirror`` replaces."""
    orders = sql_table(
        credentials=_credentials("BENCH_SOURCE_URL"),
        schema=SOURCE_SCHEMA,
        table="orders",
        backend="pyarrow",
    )
    if mode == "upsert":
        orders.apply_hints(write_disposition="merge", primary_key=KEY_COLUMN)
    else:
        orders.apply_hints(write_disposition="replace")

    pipeline = dlt.pipeline(
        pipeline_name=f"orders_{mode}",
        destination=dlt.destinations.postgres(credentials=_credentials("BENCH_DESTINATION_URL")),
        dataset_name=dataset,
        pipelines_dir=pipelines_dir,
    )
    info = pipeline.run(orders, loader_file_format="csv")
    info.raise_on_failed_jobs()


if __name__ == "__main__":
    main(*sys.argv[1:4])
