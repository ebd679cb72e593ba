"""TPC-H ``orders`` for the benchmark: generate it once per scale factor, load it into PostgreSQL.

The tpch extension ships on PyPI only for the DuckDB release it was built with, which need not
be the project's. So the data is made in a virtual environment of the benchmark's own
(``bench/.venv-tpch``), exported to CSV under ``bench/.data`` and kept there for later runs.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

logger = logging.getLogger(__name__)

BENCH_DIR = Path(__file__).resolve().parent
GENERATOR_ENV = BENCH_DIR / ".venv-tpch"
DATA_DIR = BENCH_DIR / ".data"

# The newest release for which PyPI has the tpch extension; the two must match exactly.
TPCH_DUCKDB = "1.5.5"

ORDERS_COLUMNS = """
    o_orderkey bigint PRIMARY KEY,
    o_custkey bigint,
    o_orderstatus text,
    o_totalprice numeric(15, 2),
    o_orderdate date,
    o_orderpriority text,
    o_clerk text,
    o_shippriority integer,
    o_comment text
"""

COPY_BLOCK = 1 << 20


def generator_python() -> Path:
    """The interpreter of the generator environment, created on first use."""
    python = GENERATOR_ENV / "bin" / "python"
    ready = GENERATOR_ENV / ".installed"
    if ready.exists():
        return python

    # Made anew when an earlier attempt stopped half-way, e.g. without network.
    print(f"creating {GENERATOR_ENV} with duckdb=={TPCH_DUCKDB} (first run only)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(GENERATOR_ENV)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            f"duckdb=={TPCH_DUCKDB}",
            f"duckdb-extension-tpch=={TPCH_DUCKDB}",
        ],
        check=True,
    )
    ready.touch()
    return python


def orders_csv(scale_factor: float) -> Path:
    """The CSV file of ``orders`` at ``scale_factor``, generated unless already there."""
    path = DATA_DIR / f"orders_sf{scale_factor:g}.csv"
    if path.exists():
        return path

    DATA_DIR.mkdir(exist_ok=True)
    started = time.perf_counter()
    subprocess.run(
        [
            str(generator_python()),
            str(BENCH_DIR / "generate_orders.py"),
            repr(scale_factor),
            str(path),
        ],
        check=True,
    )
    print(f"generated {path.name} in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def create_database(admin_dsn: str, name: str) -> None:
    """Create the benchmark database ``name`` on the server of ``admin_dsn``."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(admin_dsn: str, name: str) -> None:
    """Drop the benchmark database ``name``, closing whatever still uses it."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def create_orders_table(conn: psycopg.Connection, schema: str) -> None:
    """Create an empty ``orders`` table, keyed by ``o_orderkey``, in ``schema``."""
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    conn.execute(
        sql.SQL("CREATE TABLE {}.orders ({})").format(
            sql.Identifier(schema), sql.SQL(ORDERS_COLUMNS)
        )
    )


def load_orders(conn: psycopg.Connection, schema: str, csv_path: Path) -> int:
    """Create ``schema.orders`` and fill it from ``csv_path``; return the row count."""
    create_orders_table(conn, schema)
    copy_in = sql.SQL("COPY {}.orders FROM STDIN (FORMAT csv)").format(sql.Identifier(schema))

    with conn.cursor() as cur, cur.copy(copy_in) as copy, csv_path.open("rb") as source:
        while block := source.read(COPY_BLOCK):
            copy.write(block)

    conn.execute(sql.SQL("ANALYZE {}.orders").format(sql.Identifier(schema)))
    conn.commit()
    return count_rows(conn, schema)


def count_rows(conn: psycopg.Connection, schema: str) -> int:
    """The number of rows of ``schema.orders``."""
    row = conn.execute(
        sql.SQL("SELECT count(*) FROM {}.orders").format(sql.Identifier(schema))
    ).fetchone()
    assert row is not None
    return int(row[0])


def count_rows_at(dsn: str, schema: str) -> int:
    """The number of rows of ``schema.orders`` in the database of ``dsn``."""
    with psycopg.connect(dsn) as conn:
        return count_rows(conn, schema)
