"""Trigger states in the catalog: one row per trigger, newest run wins, alerts never raise."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from alert_bench import Workbench
from alert_receivers import HttpReceiver
from sqlalchemy import select, update

from syncline.alerts import channels, notify, notify_run_finished
from syncline.catalog import RunTrigger
from syncline.catalog.tables import AlertPolicyRecord, AlertStateRecord
from syncline.engine.report import RowCounts, RunProgress, RunStatus


def finished_run(
    bench: Workbench, status: RunStatus, *, rejected: int = 0, dry_run: bool = False
) -> int:
    """A run of the bench's sync recorded as finished, without executing anything."""
    progress = RunProgress(
        query_size=10, planned=RowCounts(added=10), failed=RowCounts(added=rejected)
    )
    with bench.catalog.session() as session:
        run = session.runs.enqueue("people-sync", RunTrigger(dry_run=dry_run))
        session.runs.start(run.id, "test-worker")
        session.runs.finish(run.id, status, progress)
        return run.id


def stored_states(bench: Workbench) -> dict[str, tuple[str, Any]]:
    with bench.catalog.session(read_only=True) as session:
        rows = session.orm.scalars(select(AlertStateRecord)).all()
        return {r.trigger: (r.state, r.details.get("runId")) for r in rows}


def test_each_trigger_keeps_one_state_row_with_its_latest_run(
    catalog_bench: Workbench, http: HttpReceiver
) -> None:
    catalog_bench.apply({"recipients": [{"type": "webhook", "url": http.url()}]})
    first = finished_run(catalog_bench, RunStatus.FAILED)
    notify_run_finished(catalog_bench.catalog, first)
    second = finished_run(catalog_bench, RunStatus.SUCCESS, rejected=2)
    notify_run_finished(catalog_bench.catalog, second)

    assert stored_states(catalog_bench) == {
        "failedRun": ("ok", second),
        "rejectedRows": ("warning", second),
        "slowRun": ("ok", second),
        "rowCountDrop": ("ok", second),
    }
    assert [(n["trigger"], n["state"]) for n in http.at("/hook")] == [
        ("failedRun", "critical"),
        ("failedRun", "ok"),
        ("rejectedRows", "warning"),
    ]


def test_an_older_run_evaluated_late_does_not_overrule_a_newer_one(
    catalog_bench: Workbench, http: HttpReceiver
) -> None:
    catalog_bench.apply({"recipients": [{"type": "webhook", "url": http.url()}]})
    older = finished_run(catalog_bench, RunStatus.FAILED)
    newer = finished_run(catalog_bench, RunStatus.SUCCESS)

    notify_run_finished(catalog_bench.catalog, newer)
    notify_run_finished(catalog_bench.catalog, older)

    assert stored_states(catalog_bench)["failedRun"] == ("ok", newer)
    assert http.posted == []


def test_evaluating_a_run_twice_notifies_once(catalog_bench: Workbench, http: HttpReceiver) -> None:
    catalog_bench.apply({"recipients": [{"type": "webhook", "url": http.url()}]})
    run = finished_run(catalog_bench, RunStatus.FAILED)

    notify_run_finished(catalog_bench.catalog, run)
    notify_run_finished(catalog_bench.catalog, run)

    assert len(http.posted) == 1


def test_dry_runs_are_not_evaluated(catalog_bench: Workbench, http: HttpReceiver) -> None:
    catalog_bench.apply({"recipients": [{"type": "webhook", "url": http.url()}]})

    notify_run_finished(
        catalog_bench.catalog, finished_run(catalog_bench, RunStatus.FAILED, dry_run=True)
    )

    assert stored_states(catalog_bench) == {}
    assert http.posted == []


def test_a_broken_stored_policy_is_logged_and_never_raised(
    bench: Workbench, http: HttpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    bench.apply({"recipients": [{"type": "webhook", "url": http.url()}]})
    with bench.catalog.session() as session:
        session.orm.execute(update(AlertPolicyRecord).values(configuration={"triggers": 5}))
    run = finished_run(bench, RunStatus.FAILED)

    notify_run_finished(bench.catalog, run)
    notify_run_finished(bench.catalog, 10_000)

    assert http.posted == []
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [f"alerts for run {run} could not be evaluated or sent"]


def test_recipients_not_served_within_the_delivery_budget_are_named(
    bench: Workbench,
    http: HttpReceiver,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bench.apply({"recipients": [{"type": "webhook", "url": http.url()}]})
    monkeypatch.setattr(notify, "BUDGET_SECONDS", 0.0)
    slow = channels.deliver

    def late(*args: Any) -> bool:
        time.sleep(0.5)
        return slow(*args)

    monkeypatch.setattr(channels, "deliver", late)

    notify_run_finished(bench.catalog, finished_run(bench, RunStatus.FAILED))

    [missed] = [r.getMessage() for r in caplog.records if "missed the notice" in r.getMessage()]
    assert f"webhook recipient at {http.url('')} (failedRun)" in missed


def test_a_change_without_recipients_is_noted_quietly(
    bench: Workbench, caplog: pytest.LogCaptureFixture
) -> None:
    bench.apply()

    with caplog.at_level(logging.INFO, logger="syncline.alerts"):
        notify_run_finished(bench.catalog, finished_run(bench, RunStatus.FAILED))

    notes = [r for r in caplog.records if r.name.startswith("syncline.alerts")]
    assert [(r.levelno, r.getMessage()) for r in notes] == [
        (
            logging.INFO,
            "sync people-sync: failedRun is now critical; no alert recipient is set (add "
            "recipients under alerts on its destination or the sync to be told)",
        )
    ]
    assert stored_states(bench)["failedRun"][0] == "critical"


def test_an_address_stored_before_the_check_fails_only_its_own_recipient(
    bench: Workbench,
    http: HttpReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    email = {"type": "email", "host": "127.0.0.1", "port": 9, "from": "syncline@example.org",
             "to": ["oncall@example.org"]}  # fmt: skip
    bench.apply({"recipients": [email, {"type": "webhook", "url": http.url()}]})
    with bench.catalog.session() as session:
        record = session.orm.scalars(select(AlertPolicyRecord)).one()
        stored = dict(record.configuration)
        bad = "evil@example.org\r\nBcc: z@example.org"
        stored["recipients"] = [{**stored["recipients"][0], "to": [bad]}, stored["recipients"][1]]
        record.configuration = stored

    notify_run_finished(bench.catalog, finished_run(bench, RunStatus.FAILED))

    assert [notice.body["state"] for notice in http.posted] == ["critical"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("email recipient" in w and "save the alert policy again" in w for w in warnings)
