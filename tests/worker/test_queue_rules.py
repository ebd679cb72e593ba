"""What may sit in a sync's queue: a dry run stays dry, and a disabled sync's runs never start."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from worker_helpers import HookReceiver, ModelFile, add_sync, run_record, runs_of

from syncline.catalog import Catalog, RunTrigger
from syncline.worker.recovery import recover_abandoned


def _dead_worker() -> str:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{socket.gethostname()}:{child.pid}"


def test_recovery_never_turns_a_queued_dry_run_into_the_resuming_run(
    catalog: Catalog,
    receiver: HookReceiver,
    models: ModelFile,
    caplog: pytest.LogCaptureFixture,
) -> None:
    models.create("t1", 5)
    sync_id = add_sync(catalog, models, "t1", receiver.url)
    with catalog.session() as session:
        abandoned = session.runs.enqueue(sync_id)
        session.runs.start(abandoned.id, _dead_worker())
        dry = session.runs.enqueue(sync_id, RunTrigger(dry_run=True))

    with caplog.at_level(logging.WARNING, logger="syncline.worker.recovery"):
        assert recover_abandoned(catalog, timedelta(seconds=60)) == [abandoned.id]

    assert run_record(catalog, abandoned.id).status == "interrupted"
    queued = run_record(catalog, dry.id)
    assert (queued.status, queued.dry_run) == ("queued", True)
    assert [r.id for r in runs_of(catalog, sync_id)] == [abandoned.id, dry.id]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"dry run {dry.id}" in w and f"run {abandoned.id}" in w for w in warnings)
