"""Trigger evaluation: one level and reason per trigger, from a run's numbers only."""

from __future__ import annotations

from typing import Any

import pytest

from syncline.alerts.policy import AlertLevel, AlertPolicy
from syncline.alerts.triggers import RunFacts, Trigger, evaluate


def facts(**changes: Any) -> RunFacts:
    values: dict[str, Any] = {
        "status": "success",
        "planned": 100,
        "rejected": 0,
        "seconds": 10.0,
        "query_size": 100,
        "previous_query_size": 100,
    }
    values.update(changes)
    return RunFacts(**values)


def levels(policy: AlertPolicy, run: RunFacts) -> dict[str, AlertLevel]:
    return {e.trigger.value: e.level for e in evaluate(policy, run)}


def policy(triggers: dict[str, Any]) -> AlertPolicy:
    return AlertPolicy.parse({"triggers": triggers})


def test_a_failed_run_is_critical_and_leaves_the_other_triggers_alone() -> None:
    result = evaluate(AlertPolicy(), facts(status="failed", rejected=50))

    assert [(e.trigger, e.level) for e in result] == [(Trigger.FAILED_RUN, AlertLevel.CRITICAL)]


@pytest.mark.parametrize("status", ["cancelled", "interrupted", "queued"])
def test_runs_that_did_not_end_on_their_own_are_not_evaluated(status: str) -> None:
    assert evaluate(AlertPolicy(), facts(status=status)) == []


def test_a_clean_run_puts_every_trigger_at_ok() -> None:
    watched = policy({"slowRun": {"after": 60}, "rowCountDrop": {"share": 0.5}})

    assert levels(watched, facts()) == {
        "failedRun": AlertLevel.OK,
        "rejectedRows": AlertLevel.OK,
        "slowRun": AlertLevel.OK,
        "rowCountDrop": AlertLevel.OK,
    }


def test_any_rejected_row_is_a_warning_by_default() -> None:
    assert levels(AlertPolicy(), facts(status="warning", rejected=1))["rejectedRows"] == (
        AlertLevel.WARNING
    )
    assert levels(AlertPolicy(), facts(rejected=0))["rejectedRows"] == AlertLevel.OK


def test_a_rejected_row_count_alerts_only_above_its_threshold() -> None:
    watched = policy({"rejectedRows": {"count": 5, "level": "critical"}})

    assert levels(watched, facts(rejected=5))["rejectedRows"] == AlertLevel.OK
    assert levels(watched, facts(rejected=6))["rejectedRows"] == AlertLevel.CRITICAL


def test_a_rejected_row_share_is_measured_against_the_planned_rows() -> None:
    watched = policy({"rejectedRows": {"share": 0.1}})

    assert levels(watched, facts(planned=100, rejected=10))["rejectedRows"] == AlertLevel.OK
    assert levels(watched, facts(planned=100, rejected=11))["rejectedRows"] == (AlertLevel.WARNING)
    assert levels(watched, facts(planned=0, rejected=0))["rejectedRows"] == AlertLevel.OK


def test_the_rejected_rows_reason_gives_the_numbers_and_the_limit() -> None:
    watched = policy({"rejectedRows": {"count": 2}})
    (reason,) = [
        e.reason for e in evaluate(watched, facts(rejected=3)) if e.trigger == "rejectedRows"
    ]

    assert reason == "3 of 100 planned rows rejected (3.0%); alert at more than 2"


def test_a_slow_run_alerts_past_its_limit_written_as_text() -> None:
    watched = policy({"slowRun": {"after": "2m"}})

    assert levels(watched, facts(seconds=120.0))["slowRun"] == AlertLevel.OK
    assert levels(watched, facts(seconds=121.0))["slowRun"] == AlertLevel.WARNING


def test_a_row_count_drop_compares_with_the_last_successful_run() -> None:
    watched = policy({"rowCountDrop": {"share": 0.5, "level": "critical"}})

    assert levels(watched, facts(query_size=50, previous_query_size=100))["rowCountDrop"] == (
        AlertLevel.OK
    )
    assert levels(watched, facts(query_size=49, previous_query_size=100))["rowCountDrop"] == (
        AlertLevel.CRITICAL
    )
    # A model that grows, or has nothing to compare with, is fine.
    assert levels(watched, facts(query_size=500))["rowCountDrop"] == AlertLevel.OK
    assert levels(watched, facts(previous_query_size=None))["rowCountDrop"] == AlertLevel.OK


def test_triggers_that_are_off_read_as_ok_so_a_raised_one_can_end() -> None:
    result = evaluate(AlertPolicy(), facts(seconds=99999.0, query_size=1))

    off = {e.trigger.value: (e.level, e.reason) for e in result}
    assert off["slowRun"][0] == AlertLevel.OK
    assert off["rowCountDrop"][0] == AlertLevel.OK
    assert "turned off" in off["slowRun"][1]
