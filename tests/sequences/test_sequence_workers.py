"""A sequence moved by advance() and executed by a real worker pool, on both catalogs."""

from __future__ import annotations

import time
from pathlib import Path

from sequence_fixtures import SEQUENCE_YAML, Invoke

from syncline.catalog import Catalog
from syncline.cli.exitcodes import ExitCode
from syncline.project.apply import apply_project
from syncline.project.loader import load_project
from syncline.scheduling.sequences import advance
from syncline.settings import Settings
from syncline.worker.pool import WorkerPool


def test_workers_execute_the_steps_one_after_another(
    syncline: Invoke, tmp_path: Path, catalog: Catalog
) -> None:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    (tmp_path / "proj" / "sequences.yml").write_text(SEQUENCE_YAML.format(rule="fatal"))
    settings = Settings(home=tmp_path / "home")
    apply_project(catalog, load_project(tmp_path / "proj"), settings)
    with catalog.session() as session:
        run_id = session.sequences.trigger("nightly").id

    pool = WorkerPool(catalog, settings, concurrency=2, name="seq-worker", poll_seconds=0.05)
    pool.start()
    try:
        deadline = time.monotonic() + 60
        status = "pending"
        while status not in ("done", "failed", "cancelled") and time.monotonic() < deadline:
            advance(catalog)
            with catalog.session(read_only=True) as session:
                status = session.sequences.get_run(run_id).status
            time.sleep(0.05)
    finally:
        assert pool.stop(timeout=30)

    assert status == "done"
    with catalog.session(read_only=True) as session:
        steps = session.sequences.run_steps(session.sequences.get_run(run_id))
        runs = [sync_run for _, sync_run in steps]
    assert [(r.status, r.worker, r.triggered_by) for r in runs] == [
        ("success", "seq-worker", "sequence"),
        ("success", "seq-worker", "sequence"),
    ]
    assert runs[0].finished_at is not None
    assert runs[1].started_at is not None
    assert runs[0].finished_at <= runs[1].started_at, "two slots, yet never concurrent"
