"""The floor: the least work any tool could do for the job, timed in the benchmark's process.

- initial load: the model read with binary ``COPY ... TO STDOUT``, piped into
  ``COPY ... FROM STDIN`` of the empty destination table;
- incremental run: the whole model read with binary COPY (no tool learns what changed in a
  model it has not read; the bytes are counted and dropped), plus only the changed rows copied
  into a staging table and applied with one ``INSERT ... ON CONFLICT DO UPDATE`` (and, in
  mirror mode, the removed keys copied in and deleted with one ``DELETE``).

Which rows changed is worked out before the clock starts, in SQL against the destination: the
floor is told the answer that every tool has to find. So it is a bound, not a competitor.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import psycopg
from psycopg import sql

from tools.child import ChildRun
from tools.job import KEY_COLUMN, MODES, Server, destination_schema
from tpch_data import create_orders_table

logger = logging.getLogger(__name__)

WORK_SCHEMA = "floor_work"


class FloorTool:
    """COPY out, COPY in: the bound every tool is measured against."""

    key = "floor"
    label = "floor: COPY"
    setup = (
        "initial: COPY model -> COPY into the table; incremental: COPY the whole model out, "
        "COPY only the changed rows (known beforehand) into staging, one upsert (and delete)"
    )

    def __init__(self, server: Server, source_schema: str) -> None:
        self.server = server
        self.source_schema = source_schema
        self.loaded: set[str] = set()
        self.changed_bytes: dict[str, int] = {}
        """Bytes of the changed rows' COPY stream in each mode's last incremental run."""

    def prepare(self, workdir: Path) -> str | None:
        """Create the destination tables, keyed like the model."""
        del workdir
        with psycopg.connect(self.server.dsn()) as conn:
            for mode in MODES:
                create_orders_table(conn, destination_schema(self.key, mode))
            conn.commit()
        return None

    def run(self, mode: str) -> ChildRun:
        """The full load the first time a mode runs, the incremental floor after that."""
        if mode not in self.loaded:
            self.loaded.add(mode)
            return self._full_load(mode)
        return self._incremental(mode)

    def _full_load(self, mode: str) -> ChildRun:
        target = sql.Identifier(destination_schema(self.key, mode), "orders")
        with (
            psycopg.connect(self.server.dsn()) as reader,
            psycopg.connect(self.server.dsn()) as writer,
        ):
            started = time.perf_counter()
            size = _pipe(
                reader,
                writer,
                _copy_out(sql.Identifier(self.source_schema, "orders")),
                sql.SQL("COPY {} FROM STDIN (FORMAT binary)").format(target),
            )
            writer.commit()
            elapsed = time.perf_counter() - started
        return ChildRun(wall_s=elapsed, peak_rss=0, cpu_s=0.0, exit_code=0, source_bytes=size)

    def _incremental(self, mode: str) -> ChildRun:
        schema = destination_schema(self.key, mode)
        target = sql.Identifier(schema, "orders")
        upserts = sql.Identifier(WORK_SCHEMA, f"upserts_{mode}")
        removed = sql.Identifier(WORK_SCHEMA, f"removed_{mode}")
        self._find_changes(target, upserts, removed, mirror=mode == "mirror")

        with (
            psycopg.connect(self.server.dsn()) as reader,
            psycopg.connect(self.server.dsn()) as writer,
        ):
            started = time.perf_counter()
            size = _drain(reader, _copy_out(sql.Identifier(self.source_schema, "orders")))

            writer.execute(
                sql.SQL("CREATE TEMP TABLE staging (LIKE {}) ON COMMIT DROP").format(target)
            )
            changed = _pipe(
                reader,
                writer,
                _copy_out(upserts),
                sql.SQL("COPY staging FROM STDIN (FORMAT binary)"),
            )
            writer.execute(_upsert(writer, target))
            if mode == "mirror":
                writer.execute(f"CREATE TEMP TABLE gone ({KEY_COLUMN} bigint) ON COMMIT DROP")
                changed += _pipe(
                    reader,
                    writer,
                    _copy_out(removed),
                    sql.SQL("COPY gone FROM STDIN (FORMAT binary)"),
                )
                writer.execute(
                    sql.SQL("DELETE FROM {} AS t USING gone AS g WHERE t.{k} = g.{k}").format(
                        target, k=sql.Identifier(KEY_COLUMN)
                    )
                )
            writer.commit()
            elapsed = time.perf_counter() - started

        self.changed_bytes[mode] = changed
        return ChildRun(
            wall_s=elapsed, peak_rss=0, cpu_s=0.0, exit_code=0, source_bytes=size + changed
        )

    def _find_changes(
        self,
        target: sql.Identifier,
        upserts: sql.Identifier,
        removed: sql.Identifier,
        *,
        mirror: bool,
    ) -> None:
        """Store the model rows the destination lacks or holds otherwise, and removed keys."""
        model = sql.Identifier(self.source_schema, "orders")
        key = sql.Identifier(KEY_COLUMN)
        with psycopg.connect(self.server.dsn()) as conn:
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(WORK_SCHEMA))
            )
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}, {}").format(upserts, removed))
            conn.execute(
                sql.SQL(
                    "CREATE TABLE {out} AS SELECT m.* FROM {model} AS m"
                    " LEFT JOIN {target} AS d ON d.{k} = m.{k}"
                    " WHERE d.{k} IS NULL OR (m.*) IS DISTINCT FROM (d.*)"
                ).format(out=upserts, model=model, target=target, k=key)
            )
            condition = sql.SQL("NOT EXISTS (SELECT 1 FROM {model} AS m WHERE m.{k} = d.{k})")
            if not mirror:
                condition = sql.SQL("false")
            conn.execute(
                sql.SQL("CREATE TABLE {out} AS SELECT d.{k} FROM {target} AS d WHERE {c}").format(
                    out=removed,
                    target=target,
                    k=key,
                    c=condition.format(model=model, k=key),
                )
            )
            conn.commit()


def _copy_out(table: sql.Identifier) -> sql.Composed:
    return sql.SQL("COPY (SELECT * FROM {}) TO STDOUT (FORMAT binary)").format(table)


def _drain(conn: psycopg.Connection, copy_out: sql.Composed) -> int:
    """Read a COPY stream to its end; return its size in bytes."""
    size = 0
    with conn.cursor() as cur, cur.copy(copy_out) as copy:
        for block in copy:
            size += len(block)
    return size


def _pipe(
    reader: psycopg.Connection,
    writer: psycopg.Connection,
    copy_out: sql.Composed,
    copy_in: sql.Composable,
) -> int:
    """Stream one COPY into another; return the bytes that went through."""
    size = 0
    with (
        reader.cursor() as out_cur,
        writer.cursor() as in_cur,
        out_cur.copy(copy_out) as source,
        in_cur.copy(copy_in) as sink,
    ):
        for block in source:
            size += len(block)
            sink.write(block)
    return size


def _upsert(conn: psycopg.Connection, target: sql.Identifier) -> sql.Composed:
    """``INSERT ... ON CONFLICT DO UPDATE`` of every staged row into ``target``."""
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'staging'::regclass"
        " AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
    ).fetchall()
    columns = [str(name) for (name,) in rows if name != KEY_COLUMN]
    updates = sql.SQL(", ").join(
        sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(column)) for column in columns
    )
    return sql.SQL("INSERT INTO {} SELECT * FROM staging ON CONFLICT ({}) DO UPDATE SET {}").format(
        target, sql.Identifier(KEY_COLUMN), updates
    )
