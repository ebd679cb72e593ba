"""Alerts in a project: validated with file and line, applied into the catalog, planned."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from alert_bench import Workbench
from sqlalchemy import select

from syncline.alerts.store import effective_policy
from syncline.catalog.tables import AlertPolicyRecord
from syncline.errors import ValidationError
from syncline.project.apply import plan_project
from syncline.project.loader import load_project

EMAIL = {
    "type": "email",
    "host": "127.0.0.1",
    "port": 2525,
    "from": "syncline@example.org",
    "to": ["oncall@example.org"],
    "username": "syncline",
    "password": "${SMTP_PASSWORD}",
}


def test_alert_problems_name_their_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "syncline.yml").write_text(
        textwrap.dedent(
            """\
            sources:
              - {slug: files, type: duckdb, configuration: {}}
            models:
              - {slug: people, source: files, primaryKey: id, raw: {sql: SELECT 1 AS id}}
            destinations:
              - slug: probe
                type: alert-probe
                configuration: {}
                alerts:
                  triggers:
                    slowRun: {after: whenever}
                  recipients:
                    - type: pager
            syncs:
              - slug: people-sync
                model: people
                destination: probe
                configuration: {mode: upsert, object: people}
                alerts:
                  triggers: {rejectedRows: false}
                  recipient: []
            """
        )
    )

    with pytest.raises(ValidationError) as caught:
        load_project(tmp_path, env={})

    found = [(p.file, p.line, p.location) for p in caught.value.problems]
    assert found == [
        ("syncline.yml", 11, "destinations[0].alerts.triggers.slowRun.after"),
        ("syncline.yml", 13, "destinations[0].alerts.recipients[0]"),
        ("syncline.yml", 20, "syncs[0].alerts.triggers.rejectedRows"),
        ("syncline.yml", 21, "syncs[0].alerts.recipient"),
    ]
    assert caught.value.problems[-1].message == "unknown key 'recipient'"
    assert caught.value.problems[-1].fix == "did you mean 'recipients'?"


def test_apply_stores_policies_with_recipient_secrets_sealed(bench: Workbench) -> None:
    hook = {"type": "slack", "url": "http://127.0.0.1:9/services/T0/B0/very-secret"}
    bench.apply(
        {"triggers": {"slowRun": {"after": "5m"}}, "recipients": [EMAIL]},
        {"triggers": {"rejectedRows": {"count": 3}}, "recipients": [hook]},
        env={"SMTP_PASSWORD": "hunter2"},
    )

    with bench.catalog.session() as session:
        stored = session.orm.scalars(select(AlertPolicyRecord)).all()
        raw = json.dumps([record.configuration for record in stored])
        sync = session.syncs.get("people-sync")
        policy = effective_policy(session.orm, bench.catalog.secrets, sync.destination_id, sync.id)

    assert len(stored) == 2
    assert "hunter2" not in raw
    assert "very-secret" not in raw
    assert policy.triggers.slow_run is not None
    assert policy.triggers.slow_run.after == 300
    assert policy.triggers.rejected_rows is not None
    assert policy.triggers.rejected_rows.count == 3
    assert [r.type for r in policy.recipients or []] == ["slack"]


def test_a_changed_policy_is_planned_by_name_without_its_secrets(bench: Workbench) -> None:
    bench.apply({"recipients": [EMAIL]}, env={"SMTP_PASSWORD": "hunter2"})
    folder = bench.root / "project"
    assert plan_project(bench.catalog, load_project(folder, env={"SMTP_PASSWORD": "hunter2"})).empty

    plan = plan_project(bench.catalog, load_project(folder, env={"SMTP_PASSWORD": "changed"}))

    assert [change.describe() for change in plan.changes] == ["change destination 'probe': alerts"]


def test_a_policy_left_out_of_the_project_is_removed(bench: Workbench) -> None:
    bench.apply({"recipients": [EMAIL]}, {"triggers": {"slowRun": {"after": 1}}}, env={
        "SMTP_PASSWORD": "x"
    })  # fmt: skip

    bench.apply()

    with bench.catalog.session() as session:
        assert session.orm.scalars(select(AlertPolicyRecord)).all() == []


def test_alerts_that_would_reach_nobody_are_a_warning(bench: Workbench) -> None:
    folder = bench.root / "project"
    bench.apply({"triggers": {"slowRun": {"after": "1h"}}})
    (warning,) = load_project(folder, env={}).warnings
    lines = (folder / "syncline.yml").read_text().splitlines()
    alerts_line = next(n for n, text in enumerate(lines, 1) if text.strip() == "alerts:")
    assert (warning.file, warning.line, warning.location) == (
        "syncline.yml",
        alerts_line,
        "destinations[0].alerts",
    )
    assert (
        warning.message == "the alerts of sync 'people-sync' have no recipients, so nobody is told"
    )

    bench.apply({"triggers": {"slowRun": {"after": "1h"}}}, {"recipients": []})
    assert load_project(folder, env={}).warnings == []
    bench.apply(None, {"recipients": [{"type": "webhook", "url": "http://127.0.0.1:9/h"}]})
    assert load_project(folder, env={}).warnings == []
