"""Benchmark: the same job done by Syncline, drt, dlt and the COPY floor, side by side.

The job: TPC-H ``orders`` from a PostgreSQL table into a PostgreSQL table, an initial full load
and then an incremental run after 1% of the rows changed, 0.5% were deleted and 0.5% added, in
upsert mode and in mirror mode. Done by Syncline with its local planner and with its
in-warehouse planner, by drt and by dlt (each installed in a virtual environment of its own)
and by the floor: the model read with COPY and only the changed rows written with COPY.

Every tool runs on the same data: all initial loads run on the same model, the model is then
changed once, and every incremental run sees that same changed model. After each run the
tool's destination must equal what the mode promises (mirror: the model; upsert: the model
plus the rows deleted from it since the initial load, as upsert never deletes), or the tool
is reported WRONG: a benchmark of a wrong result is no benchmark.

Run from the repository root with the project's virtual environment::

    .venv/bin/python bench/compare.py --scale-factor 1
    .venv/bin/python bench/compare.py --scale-factor 0.1 --tools syncline-local,floor
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

import mutate
import tpch_data
from machine import describe_machine
from precompile import compile_syncline
from tools.child import ChildRun
from tools.dlt import DltTool
from tools.drt import DrtTool
from tools.floor import FloorTool
from tools.job import KEY_COLUMN, MODES, Server, Tool, destination_schema
from tools.proxy import CountingRelay
from tools.syncline import SynclineTool
from tools.table import Result, print_results

logger = logging.getLogger(__name__)

SOURCE_SCHEMA = "tpch"
EXPECT_SCHEMA = "expect_upsert"
BEFORE_SCHEMA = "expect_before"
TOOL_NAMES = ("syncline-local", "syncline-warehouse", "drt", "dlt", "floor")


@dataclass(frozen=True)
class Options:
    """What one invocation was asked to do."""

    scale_factor: float
    admin_dsn: str
    database: str | None
    keep: bool
    tools: tuple[str, ...]
    cycles: int


def parse_args(argv: list[str] | None = None) -> Options:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale-factor", type=float, default=1.0, help="TPC-H scale factor")
    parser.add_argument(
        "--pg-dsn",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a database on the server to use; the benchmark creates its own database there",
    )
    parser.add_argument(
        "--database", help="database to create and drop (default syncline_compare_<pid>)"
    )
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    parser.add_argument(
        "--tools",
        default=",".join(TOOL_NAMES),
        help=f"comma-separated subset of {', '.join(TOOL_NAMES)} (default: all)",
    )
    parser.add_argument(
        "--cycles",
        type=int,
        default=1,
        help="rounds of changes and incremental runs; each tool's median run is judged",
    )
    args = parser.parse_args(argv)

    tools = tuple(name.strip() for name in args.tools.split(",") if name.strip())
    unknown = sorted(set(tools) - set(TOOL_NAMES))
    if unknown or not tools:
        parser.error(f"--tools takes names from {', '.join(TOOL_NAMES)}; unknown: {unknown}")
    if args.scale_factor <= 0:
        parser.error("--scale-factor must be a positive number")
    if args.cycles < 1:
        parser.error("--cycles must be at least 1")
    return Options(
        scale_factor=args.scale_factor,
        admin_dsn=args.pg_dsn,
        database=args.database,
        keep=args.keep,
        tools=tools,
        cycles=args.cycles,
    )


def build_tools(names: tuple[str, ...], server: Server) -> list[Tool]:
    """The selected tools, in the order they run and are printed."""
    made: dict[str, Tool] = {
        "syncline-local": SynclineTool(server, SOURCE_SCHEMA, warehouse=False),
        "syncline-warehouse": SynclineTool(server, SOURCE_SCHEMA, warehouse=True),
        "drt": DrtTool(server, SOURCE_SCHEMA),
        "dlt": DltTool(server),
        "floor": FloorTool(server, SOURCE_SCHEMA),
    }
    return [made[name] for name in TOOL_NAMES if name in names]


def bench(options: Options, database: str) -> bool:
    """Run every selected tool through both phases in ``database``; True when all passed."""
    csv_path = tpch_data.orders_csv(options.scale_factor)
    server = Server.from_dsn(make_conninfo(options.admin_dsn, dbname=database))
    dsn = server.dsn()

    print(f"loading {csv_path.name} into database {database}", flush=True)
    with psycopg.connect(dsn) as conn:
        initial_rows = tpch_data.load_orders(conn, SOURCE_SCHEMA, csv_path)

    with (
        tempfile.TemporaryDirectory(prefix="syncline-compare-") as workdir,
        CountingRelay(server.host, server.port) as relay,
    ):
        tools = build_tools(options.tools, server)
        results = [Result(tool, mode) for tool in tools for mode in MODES]
        # Each Syncline runs once more per phase, its source connection through the relay,
        # to count the bytes its source sent; the timed runs go to the server directly.
        # TODO(bench): count drt's and dlt's source bytes the same way; they need runs of
        # their own too (drt's snapshot lives in the source), and drt's take minutes.
        counted = {
            tool.key: SynclineTool(server, SOURCE_SCHEMA, warehouse=tool.warehouse, relay=relay)
            for tool in tools
            if isinstance(tool, SynclineTool)
        }
        for result in results:
            if result.tool.key in counted:
                result.counted = Result(counted[result.tool.key], result.mode)
        tools += list(counted.values())
        results += [result.counted for result in results if result.counted is not None]
        for tool in tools:
            reason = _prepare(tool, Path(workdir))
            for result in results:
                if result.tool is tool:
                    result.unavailable = reason

        runnable = [result for result in results if result.unavailable is None]
        for result in runnable:
            result.initial = _run(result, "initial load", dsn)
        for result in runnable:
            result.initial_diff = _differences(dsn, SOURCE_SCHEMA, result)
        _keep_before(dsn)

        for cycle in range(1, options.cycles + 1):
            print(f"changing 1%, deleting 0.5%, adding 0.5% of the rows (round {cycle})")
            changes = mutate.mutate(dsn, SOURCE_SCHEMA)
            print(f"  {changes}", flush=True)
            _expect_upsert(dsn, first=cycle == 1)
            _settle_expectations(dsn)
            rows = tpch_data.count_rows_at(dsn, SOURCE_SCHEMA)

            for result in runnable:
                result.rounds.append(_run(result, "incremental run", dsn))
            for result in runnable:
                expected = EXPECT_SCHEMA if result.mode == "upsert" else SOURCE_SCHEMA
                result.round_diffs.append(_differences(dsn, expected, result))
        for result in runnable:
            result.judge_rounds()
            if options.cycles > 1:
                times = ", ".join(f"{run.wall_s:.2f}" for run in result.rounds)
                print(f"{result.tool.label}, {result.mode}: incremental runs {times} s")

        floor = next((tool for tool in tools if isinstance(tool, FloorTool)), None)
        return print_results(
            [result for result in results if not result.tool.key.endswith("_counted")],
            scale_factor=options.scale_factor,
            initial_rows=initial_rows,
            rows=rows,
            changes=changes,
            changed_bytes=floor.changed_bytes if floor else {},
            machine=describe_machine(dsn),
        )


def _prepare(tool: Tool, workdir: Path) -> str | None:
    print(f"preparing {tool.label}", flush=True)
    try:
        return tool.prepare(workdir)
    except Exception as exc:  # noqa: BLE001 - any failure makes the tool unavailable, said why
        logger.debug("preparing %s failed", tool.label, exc_info=True)
        return f"{type(exc).__name__}: {exc}"


def _run(result: Result, phase: str, dsn: str) -> ChildRun:
    _checkpoint(dsn)
    print(f"{result.tool.label}, {result.mode}: {phase}", end="", flush=True)
    measure = result.tool.run(result.mode)
    status = "" if measure.ok else f" (exit code {measure.exit_code})"
    print(f" {measure.wall_s:.2f} s{status}", flush=True)
    return measure


class _Checkpoints:
    """Start each timed run right after a checkpoint of the server.

    The changes, the expected tables and the tools before a run leave WAL behind; the
    checkpoint it forces would otherwise fall inside whichever run came next, and the
    pages that run writes first after it are logged whole. Every tool then pays the same:
    its own writes' first full-page images, and no one else's checkpoint. Needs the
    right to run CHECKPOINT (a superuser, or pg_checkpoint from PostgreSQL 15 on);
    without it the runs go on as they come, and the benchmark says so once.
    """

    def __init__(self) -> None:
        self.refused = False

    def __call__(self, dsn: str) -> None:
        if self.refused:
            return
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            self.refused = True
            print("note: CHECKPOINT refused; runs are not started after a checkpoint", flush=True)


_checkpoint = _Checkpoints()


def _differences(dsn: str, expected_schema: str, result: Result) -> tuple[int, int] | None:
    """Rows missing from and extra in the tool's destination; None when it cannot be read."""
    try:
        return mutate.differences(
            dsn, expected_schema, destination_schema(result.tool.key, result.mode)
        )
    except psycopg.Error as exc:
        result.check_error = str(exc).splitlines()[0]
        return None


def _keep_before(dsn: str) -> None:
    """Keep the model as the initial loads saw it: upsert keeps the rows deleted later."""
    with psycopg.connect(dsn) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(BEFORE_SCHEMA)))
        conn.execute(
            sql.SQL("CREATE TABLE {} AS SELECT * FROM {}").format(
                sql.Identifier(BEFORE_SCHEMA, "orders"), sql.Identifier(SOURCE_SCHEMA, "orders")
            )
        )
        conn.commit()


def _expect_upsert(dsn: str, *, first: bool) -> None:
    """What an upsert destination must hold: the model, plus every row deleted from it
    since the initial load with the values it last had (upsert never deletes). The first
    round takes those from the model as the initial loads saw it, a later one from the
    previous round's expectation."""
    key = sql.Identifier(KEY_COLUMN)
    expect = sql.Identifier(EXPECT_SCHEMA, "orders")
    previous = sql.Identifier(EXPECT_SCHEMA, "previous")
    with psycopg.connect(dsn) as conn:
        if first:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(EXPECT_SCHEMA)))
            before = sql.Identifier(BEFORE_SCHEMA, "orders")
        else:
            conn.execute(sql.SQL("ALTER TABLE {} RENAME TO previous").format(expect))
            before = previous
        conn.execute(
            sql.SQL(
                "CREATE TABLE {expect} AS SELECT * FROM {model} UNION ALL"
                " SELECT b.* FROM {before} AS b"
                " WHERE NOT EXISTS (SELECT 1 FROM {model} AS m WHERE m.{k} = b.{k})"
            ).format(
                expect=expect,
                model=sql.Identifier(SOURCE_SCHEMA, "orders"),
                before=before,
                k=key,
            )
        )
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(previous))
        conn.commit()


def _settle_expectations(dsn: str) -> None:
    """Vacuum and analyze the benchmark's own copies of the model (the rows before the
    changes, the upsert's expectation), 1.5M new rows each at SF 1: left to autovacuum, its
    workers would scan them during the first timed runs, which would pay for them. The
    model itself is left as the changes left it, as every tool finds it."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for schema in (BEFORE_SCHEMA, EXPECT_SCHEMA):
            conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(schema, "orders")))


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; exit 0 when every check and target passed, 1 otherwise."""
    options = parse_args(argv)
    compile_syncline()
    database = options.database or f"syncline_compare_{os.getpid()}"
    started = time.perf_counter()

    tpch_data.create_database(options.admin_dsn, database)
    try:
        passed = bench(options, database)
    finally:
        if options.keep:
            print(f"kept database {database}", flush=True)
        else:
            tpch_data.drop_database(options.admin_dsn, database)
    print(f"whole benchmark: {time.perf_counter() - started:.0f} s")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
