"""A worker logs each run that failed, once: a warning with its code, a bug with its traceback."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from worker_helpers import HookReceiver, ModelFile, add_sync, enqueue

from syncline.catalog import Catalog
from syncline.cli.logs import configure_logging
from syncline.engine import run as engine_run
from syncline.engine.report import RunStatus
from syncline.settings import Settings
from syncline.worker.execute import execute_leased

LOGGERS = ("syncline.worker.execute", "syncline.engine.run")


def _run(catalog: Catalog, sync_id: int, home: Path) -> tuple[int, RunStatus]:
    run_id = enqueue(catalog, sync_id)
    with catalog.session() as session:
        session.runs.start(run_id, "test-worker")
    status = execute_leased(catalog, run_id, Settings(home=home, file_roots=(home,)), alerts=False)
    return run_id, status


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name in LOGGERS and r.levelno >= logging.WARNING]


def test_a_failed_run_is_one_warning_with_its_code(
    catalog: Catalog,
    receiver: HookReceiver,
    models: ModelFile,
    home: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # No table t1 in the model file: the source refuses the model's query.
    models.create("other", 1)
    sync_id = add_sync(catalog, models, "t1", receiver.url)

    with caplog.at_level(logging.WARNING):
        run_id, status = _run(catalog, sync_id, home)

    assert status is RunStatus.FAILED
    (record,) = _errors(caplog)
    assert record.levelno == logging.WARNING
    assert record.name == "syncline.worker.execute"
    message = record.getMessage()
    assert message.startswith(f"run {run_id} of sync {sync_id} ended failed [")
    assert "no such table: t1" in message
    assert record.exc_info is None


def test_an_internal_error_is_one_error_with_its_traceback(
    catalog: Catalog,
    receiver: HookReceiver,
    models: ModelFile,
    home: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    models.create("t1", 1)
    sync_id = add_sync(catalog, models, "t1", receiver.url)

    def broken(self: object) -> RunStatus:
        raise KeyError("a bug")

    monkeypatch.setattr(engine_run._Run, "execute", broken)
    with caplog.at_level(logging.WARNING):
        run_id, status = _run(catalog, sync_id, home)

    assert status is RunStatus.FAILED
    (record,) = _errors(caplog)
    assert record.levelno == logging.ERROR
    assert f"run {run_id} of sync {sync_id} ended failed [INTERNAL]" in record.getMessage()
    assert "internal error: KeyError" in record.getMessage()
    assert record.exc_info is not None


def test_the_serve_log_shows_a_worker_s_failed_run_at_the_default_level(
    catalog: Catalog,
    receiver: HookReceiver,
    models: ModelFile,
    home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    models.create("other", 1)
    sync_id = add_sync(catalog, models, "t1", receiver.url)
    root = logging.getLogger()
    level_before, handlers_before = root.level, list(root.handlers)
    try:
        configure_logging("WARNING", "text")
        run_id, _ = _run(catalog, sync_id, home)
    finally:
        for handler in set(root.handlers) - set(handlers_before):
            root.removeHandler(handler)
        root.setLevel(level_before)

    err = capsys.readouterr().err
    assert f"WARNING syncline.worker.execute: run {run_id} of sync {sync_id} ended failed" in err
