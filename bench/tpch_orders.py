"""Benchmark: sync TPC-H ``orders`` from PostgreSQL into PostgreSQL with Syncline.

Generates ``orders`` at a scale factor, loads it into a fresh PostgreSQL database, times the
floors (a bare binary COPY read of the model, and a COPY full load), runs an initial Syncline
sync in mirror mode, changes 1% of the rows, deletes 0.5%, adds 0.5%, and runs again. Each run
is a child process, so its wall time and peak memory are its own. After each run the
destination must equal the model and the run's counts must equal the changes, or the benchmark
fails: a fast wrong answer is no result.

Run from the repository root with the project's virtual environment::

    .venv/bin/python bench/tpch_orders.py --scale-factor 1
    .venv/bin/python bench/tpch_orders.py --scale-factors 0.1,0.5,1
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

import baseline
import mutate
import syncline_run
import tpch_data
from machine import describe_machine
from precompile import compile_syncline
from report import Cycle, Outcome, print_outcome, print_scaling

logger = logging.getLogger(__name__)

SOURCE_SCHEMA = "tpch"
TARGET_SCHEMA = "synced"


@dataclass(frozen=True)
class Options:
    """What one benchmark invocation was asked to do."""

    scale_factors: list[float]
    admin_dsn: str
    database: str | None
    keep: bool
    repeat: int
    planner_memory_limit: str | None
    profile_dir: Path | None
    cycles: int


def parse_args(argv: list[str] | None = None) -> Options:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    scale = parser.add_mutually_exclusive_group()
    scale.add_argument("--scale-factor", type=float, default=1.0, help="TPC-H scale factor")
    scale.add_argument(
        "--scale-factors",
        help="comma-separated scale factors, e.g. 0.1,0.5,1: one benchmark each, then a "
        "table of peak memory per scale factor",
    )
    parser.add_argument(
        "--pg-dsn",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a database on the server to use; the benchmark creates its own database there",
    )
    parser.add_argument(
        "--database",
        help="name of the database to create and drop (default syncline_bench_<pid>)",
    )
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timings of each floor; the median is used"
    )
    parser.add_argument(
        "--planner-memory-limit",
        help="SYNCLINE_PLANNER_MEMORY_LIMIT for the runs, e.g. 512MB (default: Syncline's own)",
    )
    parser.add_argument(
        "--cycles",
        type=int,
        default=1,
        help="rounds of changes, each followed by an incremental run; the median run is judged",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="run each sync under cProfile and write DIR/sf<SF>-<run>.prof (slower runs)",
    )
    args = parser.parse_args(argv)

    if args.scale_factors:
        factors = [float(part) for part in args.scale_factors.split(",") if part.strip()]
    else:
        factors = [args.scale_factor]
    if not factors or any(factor <= 0 for factor in factors):
        parser.error("scale factors must be positive numbers")
    if args.database and len(factors) > 1:
        parser.error("--database names one database; leave it out with --scale-factors")

    return Options(
        scale_factors=factors,
        admin_dsn=args.pg_dsn,
        database=args.database,
        keep=args.keep,
        repeat=max(1, args.repeat),
        planner_memory_limit=args.planner_memory_limit,
        profile_dir=args.profile,
        cycles=max(1, args.cycles),
    )


def bench_one(options: Options, scale_factor: float, database: str) -> Outcome:
    """Run the whole benchmark at one scale factor in the fresh database ``database``."""
    csv_path = tpch_data.orders_csv(scale_factor)
    dsn = make_conninfo(options.admin_dsn, dbname=database)

    tpch_data.create_database(options.admin_dsn, database)
    try:
        print(f"loading {csv_path.name} into database {database}", flush=True)
        with psycopg.connect(dsn) as conn:
            rows = tpch_data.load_orders(conn, SOURCE_SCHEMA, csv_path)

        print("timing the floors (bare COPY read, COPY full load)", flush=True)
        floors = baseline.measure_floors(dsn, SOURCE_SCHEMA, options.repeat)

        with tempfile.TemporaryDirectory(prefix="syncline-bench-") as home:
            sync = syncline_run.BenchSync(
                Path(home),
                dsn,
                SOURCE_SCHEMA,
                TARGET_SCHEMA,
                planner_memory_limit=options.planner_memory_limit,
            )
            sync.prepare()

            print("timing Syncline's PostgreSQL source alone", flush=True)
            source_read = statistics.median(sync.source_read() for _ in range(options.repeat))

            print("Syncline: initial run", flush=True)
            initial = sync.run(_profile_path(options, scale_factor, "initial"))
            initial_diff = mutate.differences(dsn, SOURCE_SCHEMA, TARGET_SCHEMA)

            cycles = []
            for number in range(1, options.cycles + 1):
                cycles.append(_cycle(options, sync, dsn, scale_factor, number))

        return Outcome(
            scale_factor=scale_factor,
            rows=rows,
            floors=floors,
            source_read_s=source_read,
            initial=initial,
            initial_diff=initial_diff,
            cycles=cycles,
            machine=describe_machine(dsn),
        )
    finally:
        if options.keep:
            print(f"kept database {database}", flush=True)
        else:
            tpch_data.drop_database(options.admin_dsn, database)


def _cycle(
    options: Options, sync: syncline_run.BenchSync, dsn: str, scale_factor: float, number: int
) -> Cycle:
    """Change the model, run the sync again and check the destination."""
    print(f"changing 1%, deleting 0.5%, adding 0.5% of the rows (round {number})", flush=True)
    started = time.perf_counter()
    changes = mutate.mutate(dsn, SOURCE_SCHEMA)
    print(f"  {changes} in {time.perf_counter() - started:.1f} s", flush=True)

    bare_read_s, _ = baseline.bare_read(dsn, SOURCE_SCHEMA)
    print(f"Syncline: incremental run {number}", flush=True)
    run = sync.run(_profile_path(options, scale_factor, f"incremental-{number}"))
    return Cycle(
        changes=changes,
        run=run,
        diff=mutate.differences(dsn, SOURCE_SCHEMA, TARGET_SCHEMA),
        rows=tpch_data.count_rows_at(dsn, SOURCE_SCHEMA),
        bare_read_s=bare_read_s,
    )


def _profile_path(options: Options, scale_factor: float, run: str) -> Path | None:
    if options.profile_dir is None:
        return None
    options.profile_dir.mkdir(parents=True, exist_ok=True)
    return options.profile_dir.resolve() / f"sf{scale_factor:g}-{run}.prof"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 0 when every check and target passed, 1 otherwise."""
    options = parse_args(argv)
    compile_syncline()
    outcomes: list[Outcome] = []

    for index, scale_factor in enumerate(options.scale_factors):
        database = options.database or f"syncline_bench_{os.getpid()}"
        if len(options.scale_factors) > 1:
            database += f"_{index}"
        outcome = bench_one(options, scale_factor, database)
        print_outcome(outcome)
        outcomes.append(outcome)

    if options.profile_dir is not None:
        print(f"\nprofiles in {options.profile_dir}: the runs' timings include cProfile's cost")
    flat = print_scaling(outcomes) if len(outcomes) > 1 else True
    return 0 if flat and all(outcome.passed for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
