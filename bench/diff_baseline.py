"""Benchmark: Syncline's local planner beside a bare DuckDB diff of the same rows.

Generates ``--rows`` rows (default 10 million) of ten mixed columns with DuckDB, then a
changed copy (1% changed, one column each with NULL transitions among them, 0.5% removed,
0.5% added). Both contenders get the changed rows as the same in-memory Arrow table and
the same DuckDB memory and threads (for the planner, ``--memory-limit`` is both its cap
and its join budget), each in a child process of its own:

- *bare DuckDB*: the snapshot of the first rows as (key, 64-bit ``hash()``) in a
  ``.duckdb`` file; timed: hash every changed row into a new snapshot table in that file,
  full join it with the old one and keep the keys that differ;
- *Syncline's planner*: its snapshot of the first rows made by a run beforehand; timed:
  ingest the changed rows, check the keys, diff, then journal every planned row as
  acknowledged and fold the journal into the snapshot, as a run does once the
  destination answered.

Both must find exactly the rows changed, added and removed. Prints both times, the ratio
(target: the planner within 1.5x of the bare script) and each child's memory.

Run from the repository root::

    .venv/bin/python bench/diff_baseline.py                 # 10M rows
    .venv/bin/python bench/diff_baseline.py --rows 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

MAX_PLANNER_OVER_BARE = 1.5

COLUMNS = [
    "id",
    "name",
    "amount",
    "created_at",
    "active",
    "attrs",
    "quantity",
    "email",
    "score",
    "note",
]

# Ten columns of the kinds models hold, about 130 bytes a row; score is NULL on one row
# in ten.
GENERATE = """
CREATE TABLE {table} AS SELECT
    i AS id,
    'customer ' || (i % 100000) AS name,
    (i % 10000) / 100.0 AS amount,
    TIMESTAMP '2024-01-01' + to_seconds(i % 31536000) AS created_at,
    i % 3 = 0 AS active,
    '{{"tier": ' || (i % 5) || ', "tags": ["a", "b"]}}' AS attrs,
    CAST(i % 1000 AS INTEGER) AS quantity,
    'user' || i || '@example.com' AS email,
    CASE WHEN i % 10 = 0 THEN NULL ELSE sqrt(i) END AS score,
    'note ' || (i % 777) AS note
FROM range({first}, {last}) t(i)
"""

# Rows with id % 100 = 50 change one column each, chosen by (id // 100) % 5; rows with
# id % 200 = 7 go; the added rows take the ids after the last one.
CHANGE = """
CREATE TABLE cur AS
SELECT id,
    CASE WHEN c AND k = 0 THEN name || ' (changed)' ELSE name END AS name,
    CASE WHEN c AND k = 1 THEN amount + 0.01 ELSE amount END AS amount,
    CASE WHEN c AND k = 2 THEN created_at + INTERVAL 1 SECOND ELSE created_at END AS created_at,
    CASE WHEN c AND k = 3 THEN NOT active ELSE active END AS active,
    attrs, quantity, email,
    CASE WHEN c AND k = 4 THEN (CASE WHEN score IS NULL THEN 1.0 END) ELSE score END AS score,
    note
FROM (SELECT *, id % 100 = 50 AS c, (id // 100) % 5 AS k FROM prev WHERE id % 200 <> 7)
UNION ALL SELECT * FROM added
"""

KEY = "CAST(id AS VARCHAR)"
HASHED = "hash(" + ", ".join(name for name in COLUMNS if name != "id") + ")"


@dataclass(frozen=True)
class Expected:
    """The changes the generated data holds."""

    added: int
    changed: int
    removed: int


def generate(path: Path, rows: int) -> Expected:
    """Write tables ``prev`` and ``cur`` (the changed rows) into the DuckDB file ``path``."""
    import duckdb

    with duckdb.connect(str(path)) as con:
        con.execute(GENERATE.format(table="prev", first=0, last=rows))
        con.execute(GENERATE.format(table="added", first=rows, last=rows + rows // 200))
        con.execute(CHANGE)
        con.execute("DROP TABLE added")
        row = con.execute(
            "SELECT count(*) FILTER (WHERE id % 100 = 50), count(*) FILTER (WHERE id % 200 = 7) "
            "FROM prev"
        ).fetchone()
    assert row is not None
    return Expected(added=rows // 200, changed=int(row[0]), removed=int(row[1]))


def _load(path: Path, table: str) -> Any:
    """``table`` of the data file as one in-memory Arrow table."""
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(f"SELECT * FROM {table}").fetch_arrow_table()


def _cpu_seconds() -> float:
    """User plus system CPU time of this process so far, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_kib() -> tuple[int, int]:
    """Current and peak resident memory of this process, in KiB."""
    found = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                found[line.split(":")[0]] = int(line.split()[1])
    return found.get("VmRSS", 0), found.get("VmHWM", 0)


def _report(seconds: float, cpu: float, counts: dict[str, int], before: int) -> dict[str, Any]:
    """What a contender's child process prints for the parent: timings, counts, memory."""
    return {
        "seconds": seconds,
        "cpu": cpu,
        "counts": counts,
        "rss_before_kib": before,
        "peak_kib": _rss_kib()[1],
    }


def bare(data: Path, work: Path, memory_limit: str) -> dict[str, Any]:
    """The bare DuckDB script; returns seconds and counts (run in a child process)."""
    import duckdb

    con = duckdb.connect(str(work / "bare.duckdb"))
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{work / 'bare.spill'}'")
    con.execute(f"ATTACH '{data}' AS data (READ_ONLY)")
    con.execute(f"CREATE TABLE snap AS SELECT {KEY} AS key, {HASHED} AS h FROM data.prev")
    con.execute("CHECKPOINT")
    current = _load(data, "cur")
    con.register("cur", current)
    before, _ = _rss_kib()

    started, cpu = time.perf_counter(), _cpu_seconds()
    con.execute(f"CREATE TABLE snap_new AS SELECT {KEY} AS key, {HASHED} AS h FROM cur")
    con.execute(
        "CREATE TABLE changes AS SELECT coalesce(n.key, s.key) AS key, "
        "CASE WHEN s.key IS NULL THEN 'added' WHEN n.key IS NULL THEN 'removed' "
        "ELSE 'changed' END AS op FROM snap_new n FULL JOIN snap s ON n.key = s.key "
        "WHERE n.key IS NULL OR s.key IS NULL OR n.h <> s.h"
    )
    con.execute("CHECKPOINT")
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu

    counts = dict(con.execute("SELECT op, count(*) FROM changes GROUP BY op").fetchall())
    con.close()
    return _report(seconds, cpu, counts, before)


def planner(data: Path, work: Path, memory_limit: str) -> dict[str, Any]:
    """Syncline's local planner on the same rows; returns seconds and counts (a child)."""
    from syncline.engine.planner.local import LocalPlanner
    from syncline.engine.report import Operation

    def open_planner() -> LocalPlanner:
        # The same memory as the bare script: the cap is also the planner's join budget.
        return LocalPlanner(
            work,
            1,
            primary_key="id",
            id_column="id",
            memory_limit=memory_limit,
            join_memory=memory_limit,
        )

    previous = _load(data, "prev")
    first = open_planner()
    first.ingest(iter(previous.to_batches(65_536)), previous.schema, COLUMNS)
    first.store.replace_baseline(first.current_table)
    first.close()
    del previous

    current = _load(data, "cur")
    batches = current.to_batches(65_536)
    run = open_planner()
    before, _ = _rss_kib()

    started, cpu = time.perf_counter(), _cpu_seconds()
    run.ingest(iter(batches), current.schema, COLUMNS)
    run.check_unique_keys()
    plan = run.diff()
    for operation in Operation:
        run.store.record_unsent(run.plan_table, operation)
    run.store.merge()
    run.close()
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu

    counts = {
        "added": plan.counts.added,
        "changed": plan.counts.changed,
        "removed": plan.counts.removed,
    }
    return _report(seconds, cpu, counts, before)


def _child(kind: str, data: Path, memory_limit: str) -> dict[str, Any]:
    """Run one contender in a fresh process and read back what it reports."""
    with tempfile.TemporaryDirectory(prefix=f"syncline-diff-{kind}-", dir=data.parent) as work:
        output = subprocess.run(
            [sys.executable, __file__, "--child", kind, str(data), work, memory_limit],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def _default_memory_limit() -> str:
    from syncline.settings import default_planner_memory_limit

    return default_planner_memory_limit()


def main(argv: list[str] | None = None) -> int:
    """Generate the rows, time both contenders ``--repeat`` times, print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows before the change")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; medians printed")
    parser.add_argument(
        "--memory-limit",
        help="DuckDB memory cap of both (default: the planner's, a quarter of RAM)",
    )
    parser.add_argument(
        "--child", nargs=4, metavar=("KIND", "DATA", "WORK", "LIMIT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)

    if args.child:
        kind, data, work, limit = args.child
        run = bare if kind == "bare" else planner
        print(json.dumps(run(Path(data), Path(work), limit)))
        return 0

    limit = args.memory_limit or _default_memory_limit()
    with tempfile.TemporaryDirectory(prefix="syncline-diff-bench-") as folder:
        data = Path(folder) / "data.duckdb"
        started = time.perf_counter()
        expected = generate(data, args.rows)
        print(
            f"generated {args.rows:,} rows and their changes in "
            f"{time.perf_counter() - started:.1f} s: {expected}",
            flush=True,
        )

        results: dict[str, list[dict[str, Any]]] = {"bare": [], "planner": []}
        for round_number in range(1, max(1, args.repeat) + 1):
            for kind in results:
                result = _child(kind, data, limit)
                results[kind].append(result)
                print(
                    f"  round {round_number}: {kind:<8} {result['seconds']:6.2f} s, "
                    f"CPU {result['cpu']:6.2f} s {result['counts']}",
                    flush=True,
                )

    want = {"added": expected.added, "changed": expected.changed, "removed": expected.removed}
    right = all(r["counts"] == want for runs in results.values() for r in runs)
    bare_s = statistics.median(r["seconds"] for r in results["bare"])
    planner_s = statistics.median(r["seconds"] for r in results["planner"])
    ratio = planner_s / bare_s

    print(f"\n{args.rows:,} rows, memory cap {limit}, {os.cpu_count()} cores")
    for kind, seconds in (("bare DuckDB diff", bare_s), ("Syncline planner", planner_s)):
        runs = results["bare" if kind.startswith("bare") else "planner"]
        peak = max(r["peak_kib"] - r["rss_before_kib"] for r in runs) / 1024
        cpu = statistics.median(r["cpu"] for r in runs)
        print(
            f"{kind:<18} {seconds:6.2f} s  {args.rows / seconds / 1e6:5.2f} M rows/s  "
            f"CPU {cpu:6.2f} s  memory beyond the loaded rows: {peak:,.0f} MiB"
        )
    cpu_ratio = statistics.median(r["cpu"] for r in results["planner"]) / statistics.median(
        r["cpu"] for r in results["bare"]
    )
    print(f"CPU time, planner / bare: {cpu_ratio:.2f}x (steadier than wall time on a busy machine)")
    verdict = "PASS" if right and ratio <= MAX_PLANNER_OVER_BARE else "FAIL"
    print(
        f"planner / bare: {ratio:.2f}x (target <= {MAX_PLANNER_OVER_BARE}x); "
        f"counts {'right' if right else 'WRONG'}: {verdict}"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
