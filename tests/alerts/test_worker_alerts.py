"""Runs executed by a worker pool are evaluated once each, like runs of ``syncline run``."""

from __future__ import annotations

import time
from pathlib import Path

from alert_bench import Workbench
from alert_receivers import HttpReceiver

from syncline.catalog import Catalog
from syncline.settings import Settings
from syncline.worker.pool import WorkerPool

FINISHED = ("success", "warning", "failed", "cancelled", "interrupted")


def run_on_pool(bench: Workbench, pool: WorkerPool) -> str:
    """Queue one run of the bench's sync, wait for the pool to finish it; its status."""
    with bench.catalog.session() as session:
        run_id = session.runs.enqueue("people-sync", triggered_by="test").id
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with bench.catalog.session(read_only=True) as session:
            status = session.runs.get(run_id).status
        if status in FINISHED:
            return status
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish in 30 s")


def test_a_pool_s_failed_and_recovered_runs_are_each_told_once(
    tmp_path: Path, sqlite_catalog: Catalog, http: HttpReceiver
) -> None:
    settings = Settings(home=tmp_path / "home", worker_heartbeat_seconds=0.2, planner_threads=1)
    bench = Workbench(tmp_path, sqlite_catalog, settings)
    bench.apply({"recipients": [{"type": "webhook", "url": http.url()}]})
    pool = WorkerPool(sqlite_catalog, settings, concurrency=1, name="alerts", poll_seconds=0.05)
    pool.start()
    try:
        bench.break_source()
        assert run_on_pool(bench, pool) == "failed"
        assert run_on_pool(bench, pool) == "failed"
        bench.rows(3)
        assert run_on_pool(bench, pool) == "success"
    finally:
        assert pool.stop(timeout=30)

    assert [(n["trigger"], n["state"]) for n in http.at("/hook")] == [
        ("failedRun", "critical"),
        ("failedRun", "ok"),
    ]
