"""Bad input and an unusable catalog end in one line that says what to do, not a traceback."""

from __future__ import annotations

import socket

import pytest
from cli_harness import Invoke

from syncline.cli.exitcodes import ExitCode


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_an_unreachable_catalog_database_is_one_line_naming_the_setting(
    syncline: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"postgresql+psycopg://postgres:hunter2@127.0.0.1:{_closed_port()}/nowhere"
    monkeypatch.setenv("SYNCLINE_DATABASE_URL", url)

    result = syncline("runs", "anything")

    assert result.code == ExitCode.RUN_FAILED
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert "SYNCLINE_DATABASE_URL" in lines[0]
    assert "Fix:" in lines[0]
    assert "hunter2" not in lines[0]
    assert "unexpected" not in lines[0]


def test_an_id_beyond_any_database_is_not_found(syncline: Invoke) -> None:
    result = syncline("run", "999999999999999999999")

    assert result.code == ExitCode.USER_ERROR
    assert "does not exist" in result.err
    assert "workspace 'default'" in result.err, "says where it looked"


def test_init_in_a_folder_that_cannot_be_made_says_so(syncline: Invoke) -> None:
    result = syncline("init", "/proc/syncline-cannot-be-here")

    assert result.code == ExitCode.USER_ERROR
    assert "cannot create the project" in result.err
    assert "unexpected" not in result.err


@pytest.mark.parametrize("limit", ["0", "-1"])
def test_runs_limit_must_be_at_least_one(syncline: Invoke, limit: str) -> None:
    result = syncline("runs", "anything", "--limit", limit)

    assert result.code == ExitCode.USER_ERROR
    assert "--limit" in result.err


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("runs", "anything", "--limit", "0"), "--limit"),
        (("runs", "anything", "--no-such-option"), "--no-such-option"),
        (("runs",), "'sync'"),
        (("no-such-command",), "no-such-command"),
    ],
    ids=["bad-value", "unknown-option", "missing-argument", "unknown-command"],
)
def test_a_usage_error_is_one_line_pointing_at_the_help(
    syncline: Invoke, args: tuple[str, ...], named: str
) -> None:
    result = syncline(*args)

    assert result.code == ExitCode.USER_ERROR
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ")
    assert named in lines[0]
    assert "--help" in lines[0]


def test_a_group_without_a_command_shows_its_help(syncline: Invoke) -> None:
    result = syncline("keys")

    assert result.code == ExitCode.USER_ERROR
    assert "Make, list and revoke API keys." in result.out + result.err
    assert "create" in result.out + result.err


def test_rows_refuses_failed_and_succeeded_together(syncline: Invoke) -> None:
    result = syncline("rows", "anything", "--failed", "--succeeded")

    assert result.code == ExitCode.USER_ERROR
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert "--failed" in lines[0]
    assert "--succeeded" in lines[0]
