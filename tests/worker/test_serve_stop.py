"""``syncline serve`` stopped twice: its running run is interrupted and resumed, as a worker's."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from worker_helpers import (
    SYNCLINE,
    HookReceiver,
    ModelFile,
    Workers,
    add_sync,
    enqueue,
    run_record,
    runs_of,
    wait_until,
)

from syncline.catalog import Catalog
from syncline.worker.recovery import RESUME_TRIGGER


def test_a_second_sigterm_of_serve_interrupts_the_running_run_and_queues_its_resumption(
    home: Path, tmp_path: Path, home_catalog: Catalog, receiver: HookReceiver, models: ModelFile
) -> None:
    models.create("t1", 300)
    sync_id = add_sync(home_catalog, models, "t1", receiver.url, batch_size=10)
    # Each request takes longer than the test waits, so the first signal cannot finish.
    receiver.delay = lambda _sync: 5.0
    run_id = enqueue(home_catalog, sync_id)
    log = tmp_path / "serve.log"
    env = Workers(home, tmp_path).env("serve-worker")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(SYNCLINE), "serve", "--port", "0"], env=env, stdout=out, stderr=out
        )
    try:
        assert wait_until(lambda: receiver.requests_started > 0, timeout=60), log.read_text()
        process.send_signal(signal.SIGTERM)
        assert wait_until(lambda: "stopping the worker pool" in log.read_text(), timeout=30)
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert code == 128 + signal.SIGTERM, log.read_text()
    stopped = run_record(home_catalog, run_id)
    assert stopped.status == "interrupted"
    assert "was stopped at once" in (stopped.error or "")
    resumed = runs_of(home_catalog, sync_id)[-1]
    assert (resumed.triggered_by, resumed.status) == (RESUME_TRIGGER, "queued")
