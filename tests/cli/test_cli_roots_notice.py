"""The first API key or web user holds every run to the file roots: say which files leave.

Before either exists, only the operator configures, and runs may use files anywhere (the
README's project keeps its warehouse beside its YAML files). The first key or user changes
that; a sync that ran a minute ago would then fail, so the command that makes the change
names the sources and destinations whose files are outside the roots, and the fix.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_harness import Invoke


def _project(syncline: Invoke) -> None:
    assert syncline("init", "--workspace", "default").code == 0
    assert syncline("apply").code == 0


def test_the_first_key_names_the_files_its_runs_will_refuse(syncline: Invoke) -> None:
    _project(syncline)

    first = syncline("keys", "create", "--name", "ci")
    second = syncline("keys", "create", "--name", "other")

    assert first.code == 0
    notice = first.err + first.out
    assert "source 'warehouse'" in notice
    assert "SYNCLINE_FILE_ROOTS" in notice
    assert "files/default" in notice
    assert "source 'warehouse'" not in second.err + second.out


def test_the_first_web_user_names_them_too(
    syncline: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(syncline)
    monkeypatch.setenv("SYNCLINE_USER_PASSWORD", "a long pass phrase 42")

    made = syncline("users", "create", "ada@example.com", "--role", "admin")

    assert made.code == 0, made.err
    assert "source 'warehouse'" in made.err + made.out


def test_no_notice_when_the_roots_already_hold_the_files(
    syncline: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    monkeypatch.setenv("SYNCLINE_FILE_ROOTS", str(project))
    _project(syncline)

    made = syncline("keys", "create", "--name", "ci")

    assert made.code == 0
    assert "outside" not in made.err + made.out
