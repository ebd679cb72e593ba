"""A worker logs each run that failed, once: a warning with its code, a bug with its traceback."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from worker_helpers import HookReceiver, ModelFile, add_sync, enqueue, run_record

from dropped_catalog import dropped_connection
from syncline.catalog import Catalog
from syncline.catalog import catalog as catalog_module
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


def test_a_run_goes_on_when_the_catalog_drops_its_connections(
    catalog: Catalog,
    receiver: HookReceiver,
    models: ModelFile,
    home: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if catalog.engine.dialect.name != "postgresql":
        pytest.skip("a SQLite catalog has no server connection to cut; this runs on PostgreSQL")
    models.create("t1", 5)
    sync_id = add_sync(catalog, models, "t1", receiver.url, batch_size=2)

    run_id = enqueue(catalog, sync_id)
    with catalog.session() as session:
        session.runs.start(run_id, "test-worker")
    settings = Settings(home=home, file_roots=(home,))

    # Writes to the run record and reads of it are cut, at their statement.
    with (
        dropped_connection(catalog, "UPDATE sync_runs", times=4),
        dropped_connection(catalog, "SELECT sync_runs", times=4),
        caplog.at_level(logging.WARNING),
    ):
        status = execute_leased(catalog, run_id, settings, alerts=False)

    assert status is RunStatus.SUCCESS, run_record(catalog, run_id).error
    assert _errors(caplog) == []
    assert len(receiver.table(sync_id)) == 5
    assert run_record(catalog, run_id).successful_added == 5


def test_a_run_whose_catalog_stays_out_of_reach_fails_as_a_lost_catalog(
    catalog: Catalog,
    receiver: HookReceiver,
    models: ModelFile,
    home: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if catalog.engine.dialect.name != "postgresql":
        pytest.skip("a SQLite catalog has no server connection to cut; this runs on PostgreSQL")
    monkeypatch.setattr(catalog_module, "CATALOG_RETRY_DELAYS", (0.0,) * 5)
    models.create("t1", 5)
    sync_id = add_sync(catalog, models, "t1", receiver.url, batch_size=2)

    # Recording the run's progress (or heartbeat) is cut on every try.
    with (
        dropped_connection(catalog, "UPDATE sync_runs SET heartbeat_at", times=99),
        caplog.at_level(logging.WARNING),
    ):
        run_id, status = _run(catalog, sync_id, home)

    assert status is RunStatus.FAILED
    run = run_record(catalog, run_id)
    assert run.error is not None
    assert run.error.startswith("lost the connection to the catalog while recording run")
    assert "internal error" not in run.error
    (record,) = _errors(caplog)
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
