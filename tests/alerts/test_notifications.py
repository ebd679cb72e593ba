"""Real runs, real notices: webhook, Slack and SMTP recipients on 127.0.0.1 hear of changes only."""

from __future__ import annotations

import logging
import re
import socket
from typing import Any

import pytest
from alert_bench import ProbeDestination, Workbench
from alert_receivers import HttpReceiver, SmtpInbox, free_port

from syncline.alerts import channels, notify


def webhook(http: HttpReceiver, path: str = "/hook", **extra: Any) -> dict[str, Any]:
    return {"type": "webhook", "url": http.url(path), **extra}


def email(inbox: SmtpInbox, **extra: Any) -> dict[str, Any]:
    return {
        "type": "email",
        "host": "127.0.0.1",
        "port": inbox.port,
        "from": "syncline@example.org",
        "to": ["oncall@example.org", "data@example.org"],
        **extra,
    }


def states(received: list[Any]) -> list[tuple[str, str, str]]:
    return [(n["trigger"], n["previousState"], n["state"]) for n in received]


def test_a_failure_is_told_once_and_its_recovery_once(
    bench: Workbench, http: HttpReceiver, inbox: SmtpInbox
) -> None:
    bench.apply({"recipients": [webhook(http), email(inbox)]})
    assert bench.run()["status"] == "success"
    assert http.posted == []

    bench.break_source()
    failed = bench.run()
    bench.run()
    bench.run()

    assert states(http.at("/hook")) == [("failedRun", "ok", "critical")]
    notice = http.at("/hook")[0]
    assert notice["event"] == "alert.raised"
    assert notice["sync"]["slug"] == "people-sync"
    assert notice["run"]["id"] == failed["id"]
    assert notice["run"]["status"] == "failed"
    assert notice["reason"] == "the run failed"
    assert [m["Subject"] for m in inbox.messages] == [
        "[CRITICAL] Syncline sync 'people-sync': failedRun"
    ]
    assert inbox.messages[0]["To"] == "oncall@example.org, data@example.org"
    lines = inbox.messages[0].get_content().splitlines()
    assert lines[:2] == [
        "Sync 'people-sync' (id 1) into destination 'probe', workspace 'default': failedRun is "
        "now critical (was ok).",
        "Reason: the run failed.",
    ]
    assert re.fullmatch(rf"Run {failed['id']} ended failed: 0 of 0 planned rows rejected; "
                        r"it took \d+\.\d s\.", lines[2])  # fmt: skip
    assert lines[3].startswith("Error: duckdb: query on in-memory DuckDB failed")
    assert lines[4:] == ["Details: syncline runs people-sync"]

    bench.rows(10)
    recovered = bench.run()
    bench.run()

    assert states(http.at("/hook")) == [
        ("failedRun", "ok", "critical"),
        ("failedRun", "critical", "ok"),
    ]
    assert http.at("/hook")[1]["event"] == "alert.recovered"
    assert http.at("/hook")[1]["run"]["id"] == recovered["id"]
    assert inbox.messages[1]["Subject"] == "[RECOVERED] Syncline sync 'people-sync': failedRun"


def test_notices_carry_counts_but_no_row_values(
    bench: Workbench, http: HttpReceiver, inbox: SmtpInbox, probe: type[ProbeDestination]
) -> None:
    bench.apply({"recipients": [webhook(http), email(inbox)]})
    probe.reject = {"3"}

    bench.run()

    (notice,) = http.at("/hook")
    assert notice["run"]["rejectedRows"] == 1
    assert notice["run"]["plannedRows"] == 10
    assert notice["run"]["querySize"] == 10
    body = inbox.messages[0].get_content()
    for text in (str(notice), str(body)):
        assert "user3@example.org" not in text
        assert "refused by the probe" not in text
        assert "http" not in text.replace(http.url(), "")


def test_rejected_rows_alert_above_the_threshold_and_recover(
    bench: Workbench, http: HttpReceiver, probe: type[ProbeDestination]
) -> None:
    bench.apply({"triggers": {"rejectedRows": {"count": 1}}, "recipients": [webhook(http)]})

    probe.reject = {"4"}
    assert bench.run()["status"] == "warning"
    assert http.posted == []

    probe.reject = {"4", "11", "12"}
    bench.rows(12)
    bench.run()
    probe.reject = set()
    bench.run()

    assert states(http.at("/hook")) == [
        ("rejectedRows", "ok", "warning"),
        ("rejectedRows", "warning", "ok"),
    ]
    assert "3 of" in http.at("/hook")[0]["reason"]


def test_a_slow_run_is_a_warning_until_a_run_is_fast_again(
    bench: Workbench, http: HttpReceiver, probe: type[ProbeDestination]
) -> None:
    bench.apply({"triggers": {"slowRun": {"after": 1.0}}, "recipients": [webhook(http)]})
    probe.delay = 1.1
    bench.run()
    probe.delay = 0.0
    bench.run()

    assert states(http.at("/hook")) == [("slowRun", "ok", "warning"), ("slowRun", "warning", "ok")]
    assert re.fullmatch(r"the run took 1\.\d s \(limit 1\.0 s\)", http.at("/hook")[0]["reason"])


def test_a_drop_in_the_model_s_row_count_is_compared_with_the_last_success(
    bench: Workbench, http: HttpReceiver
) -> None:
    policy = {"triggers": {"rowCountDrop": {"share": 0.5, "level": "critical"}}}
    bench.apply({**policy, "recipients": [webhook(http)]})
    bench.run()
    bench.rows(6)
    bench.run()
    assert http.posted == []

    bench.rows(2)
    bench.run()

    (notice,) = http.at("/hook")
    assert (notice["trigger"], notice["state"]) == ("rowCountDrop", "critical")
    assert notice["reason"].startswith("the model returned 2 rows, 6 in the last successful run")


def test_a_sync_overrides_its_destination_s_triggers_and_recipients(
    bench: Workbench, http: HttpReceiver, probe: type[ProbeDestination]
) -> None:
    bench.apply(
        {"recipients": [webhook(http, "/team")]},
        {"triggers": {"rejectedRows": {"count": 5}}, "recipients": [webhook(http, "/owner")]},
    )
    probe.reject = {"1", "2"}
    bench.run()
    assert http.posted == []

    bench.break_source()
    bench.run()

    assert http.at("/team") == []
    assert states(http.at("/owner")) == [("failedRun", "ok", "critical")]


def test_a_critical_only_recipient_does_not_hear_of_warnings(
    bench: Workbench, http: HttpReceiver, probe: type[ProbeDestination]
) -> None:
    bench.apply(
        {
            "recipients": [
                webhook(http, "/pager", level="critical"),
                webhook(http, "/chat", level="warning"),
            ]
        }
    )
    probe.reject = {"1"}
    bench.run()
    bench.break_source()
    bench.run()

    assert states(http.at("/chat")) == [
        ("rejectedRows", "ok", "warning"),
        ("failedRun", "ok", "critical"),
    ]
    assert states(http.at("/pager")) == [("failedRun", "ok", "critical")]


def test_slack_recipients_get_text_and_blocks(bench: Workbench, http: HttpReceiver) -> None:
    bench.apply({"recipients": [{"type": "slack", "url": http.url("/services/T0/B0/x")}]})
    bench.break_source()
    bench.run()

    (message,) = http.at("/services/T0/B0/x")
    assert message["text"].startswith("[CRITICAL] Syncline sync 'people-sync': failedRun\n")
    assert "Reason: the run failed." in message["text"]
    assert [block["type"] for block in message["blocks"]] == ["header", "section", "context"]


def test_email_logs_in_with_the_password_from_the_environment(bench: Workbench) -> None:
    inbox = SmtpInbox(login=("syncline", "hunter2")).start()
    try:
        recipient = email(inbox, username="syncline", password="${SMTP_PASSWORD}")
        bench.apply({"recipients": [recipient]}, env={"SMTP_PASSWORD": "hunter2"})
        bench.break_source()
        bench.run()
    finally:
        inbox.stop()

    assert inbox.logins == ["syncline"]
    assert len(inbox.messages) == 1


def test_delivery_failures_are_logged_and_never_fail_the_run(
    bench: Workbench, caplog: pytest.LogCaptureFixture
) -> None:
    refusing = HttpReceiver(status=500).start()
    closed = free_port()
    try:
        bench.apply(
            {
                "recipients": [
                    {"type": "slack", "url": refusing.url("/services/T0/B0/secret-path")},
                    {"type": "webhook", "url": f"http://127.0.0.1:{closed}/hook"},
                    {
                        "type": "email",
                        "host": "127.0.0.1",
                        "port": closed,
                        "from": "syncline@example.org",
                        "to": "oncall@example.org",
                        "username": "syncline",
                        "password": "hunter2",
                    },
                ]
            }
        )
        with caplog.at_level(logging.INFO, logger="syncline.alerts"):
            bench.break_source()
            assert bench.run()["status"] == "failed"
            bench.rows(10)
            assert bench.run()["status"] == "success"
    finally:
        refusing.stop()

    assert len(refusing.posted) == 2
    warnings = _alert_warnings(caplog)
    assert len(warnings) == 6
    assert any("answered HTTP 500" in w for w in warnings)
    assert any(f"127.0.0.1:{closed}" in w and "ConnectError" in w for w in warnings)
    assert all("secret-path" not in w and "hunter2" not in w for w in warnings)


def test_starttls_is_required_when_asked_for(
    bench: Workbench, caplog: pytest.LogCaptureFixture
) -> None:
    # The local server offers login but no STARTTLS: the password must not go out in clear.
    inbox = SmtpInbox(login=("u", "hunter2")).start()
    try:
        recipient = email(inbox, starttls=True, username="u", password="hunter2")
        bench.apply({"recipients": [recipient]})
        bench.break_source()
        assert bench.run()["status"] == "failed"
    finally:
        inbox.stop()

    assert inbox.logins == []
    assert inbox.messages == []
    (warning,) = _alert_warnings(caplog)
    assert "the server does not offer STARTTLS" in warning
    assert "hunter2" not in warning


def test_a_login_without_starttls_on_a_server_without_auth_says_what_to_set(
    bench: Workbench, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = SmtpInbox(login=("u", "hunter2"), auth_in_clear=False).start()
    try:
        bench.apply({"recipients": [email(inbox, username="u", password="hunter2")]})
        bench.break_source()
        assert bench.run()["status"] == "failed"
    finally:
        inbox.stop()

    (warning,) = _alert_warnings(caplog)
    assert "SMTP AUTH needs starttls: true" in warning
    assert "hunter2" not in warning


def test_one_recipient_s_failure_of_any_kind_never_stops_the_others(
    bench: Workbench, http: HttpReceiver, inbox: SmtpInbox, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    def broken(*args: Any) -> None:
        raise ValueError("Header values may not contain linefeed or carriage return characters")

    monkeypatch.setattr(channels, "_send_email", broken)
    bench.apply({"recipients": [email(inbox), webhook(http)]})
    bench.break_source()
    assert bench.run()["status"] == "failed"

    assert states(http.at("/hook")) == [("failedRun", "ok", "critical")]
    (warning,) = _alert_warnings(caplog)
    assert f"email recipient at 127.0.0.1:{inbox.port}: ValueError: Header values" in warning


def test_a_hanging_smtp_server_is_a_timeout_and_delays_nobody_else(
    bench: Workbench, http: HttpReceiver, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    monkeypatch.setattr(channels, "TIMEOUT_SECONDS", 0.5)
    with socket.create_server(("127.0.0.1", 0)) as hanging:  # accepts, never answers
        port = hanging.getsockname()[1]
        hung = {"type": "email", "host": "127.0.0.1", "port": port,
                "from": "syncline@example.org", "to": ["oncall@example.org"]}  # fmt: skip
        bench.apply({"recipients": [hung, webhook(http)]})
        bench.break_source()
        assert bench.run()["status"] == "failed"

    assert states(http.at("/hook")) == [("failedRun", "ok", "critical")]
    (warning,) = _alert_warnings(caplog)
    assert f"email recipient at 127.0.0.1:{port}: timed out" in warning


def test_recipients_still_unserved_when_the_budget_ends_are_named(
    bench: Workbench, http: HttpReceiver, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    monkeypatch.setattr(channels, "TIMEOUT_SECONDS", 3.0)
    monkeypatch.setattr(notify, "BUDGET_SECONDS", 1.0)
    with socket.create_server(("127.0.0.1", 0)) as hanging:
        port = hanging.getsockname()[1]
        hung = {"type": "email", "host": "127.0.0.1", "port": port,
                "from": "syncline@example.org", "to": ["oncall@example.org"]}  # fmt: skip
        bench.apply({"recipients": [hung, webhook(http)]})
        bench.break_source()
        assert bench.run()["status"] == "failed"

        assert states(http.at("/hook")) == [("failedRun", "ok", "critical")]
        [missed] = [w for w in _alert_warnings(caplog) if "missed the notice" in w]
    assert f"email recipient at 127.0.0.1:{port} (failedRun)" in missed
    assert "webhook" not in missed


def _alert_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The warnings of alert delivery (the worker also warns of the failed run itself)."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name.startswith("syncline.alerts")
    ]


def test_a_failed_run_s_notice_carries_its_error(
    bench: Workbench, http: HttpReceiver, inbox: SmtpInbox
) -> None:
    bench.apply({"recipients": [webhook(http), email(inbox)]})
    bench.break_source()
    assert bench.run()["status"] == "failed"

    (notice,) = http.at("/hook")
    assert "No files found" in notice["run"]["error"]
    assert "Error: duckdb: query on in-memory DuckDB failed" in notice["text"]
    assert "No files found" in str(inbox.messages[0].get_content())
