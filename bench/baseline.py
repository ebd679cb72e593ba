"""The floors Syncline is measured against, timed in the same process and on the same server.

- bare read: ``COPY (SELECT * FROM orders) TO STDOUT`` in binary, every byte read by psycopg and
  nothing parsed. No tool can learn what changed in a model faster than it can read the model.
- full load: the same COPY piped into ``COPY ... FROM STDIN`` of a fresh keyed table: the least
  work any initial sync into PostgreSQL can do.
"""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import dataclass

import psycopg
from psycopg import sql

from tpch_data import create_orders_table

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Floors:
    """Median seconds of each baseline, and the bytes one bare read moved."""

    bare_read_s: float
    full_load_s: float
    read_bytes: int


def _copy_out(schema: str) -> sql.Composed:
    return sql.SQL("COPY (SELECT * FROM {}.orders) TO STDOUT (FORMAT binary)").format(
        sql.Identifier(schema)
    )


def bare_read(dsn: str, schema: str) -> tuple[float, int]:
    """Read ``schema.orders`` once with binary COPY; return (seconds, bytes read)."""
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        started = time.perf_counter()
        size = 0
        with cur.copy(_copy_out(schema)) as copy:
            for block in copy:
                size += len(block)
        return time.perf_counter() - started, size


def full_load(dsn: str, source_schema: str, target_schema: str) -> float:
    """Copy ``source_schema.orders`` into a new keyed ``target_schema.orders``; return seconds."""
    with psycopg.connect(dsn) as reader, psycopg.connect(dsn) as writer:
        writer.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(target_schema))
        )
        create_orders_table(writer, target_schema)
        writer.commit()
        copy_in = sql.SQL("COPY {}.orders FROM STDIN (FORMAT binary)").format(
            sql.Identifier(target_schema)
        )

        started = time.perf_counter()
        with (
            reader.cursor() as out_cur,
            writer.cursor() as in_cur,
            out_cur.copy(_copy_out(source_schema)) as copy_out,
            in_cur.copy(copy_in) as copy_in_stream,
        ):
            for block in copy_out:
                copy_in_stream.write(block)
        writer.commit()
        elapsed = time.perf_counter() - started

        writer.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(target_schema)))
        writer.commit()
        return elapsed


def measure_floors(dsn: str, schema: str, repeat: int) -> Floors:
    """Time both baselines ``repeat`` times (after one warm-up read) and keep the medians."""
    bare_read(dsn, schema)

    reads = [bare_read(dsn, schema) for _ in range(repeat)]
    loads = [full_load(dsn, schema, "floor_load") for _ in range(repeat)]
    return Floors(
        bare_read_s=statistics.median(seconds for seconds, _ in reads),
        full_load_s=statistics.median(loads),
        read_bytes=reads[0][1],
    )
