"""Fixtures that drive the real command line in a temporary SYNCLINE_HOME and folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_harness import Invoke, Result

from syncline.cli.app import run_cli


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working folder with its own SYNCLINE_HOME and default settings."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYNCLINE_HOME", str(tmp_path / "home"))
    for name in ("SYNCLINE_DATABASE_URL", "SYNCLINE_SECRET_KEY", "SYNCLINE_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SYNCLINE_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("SYNCLINE_LOG_FORMAT", "text")
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


@pytest.fixture
def syncline(workdir: Path, capsys: pytest.CaptureFixture[str]) -> Invoke:
    """Run ``syncline ARGS...`` in this process and return its exit code and output."""

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        code = run_cli(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke
