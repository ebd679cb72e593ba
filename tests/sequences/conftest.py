"""Fixtures of the sequence tests: a catalog (from tests/conftest.py) with syncs in it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sequence_fixtures import Invoke, Result, make_syncs

from syncline.catalog import Catalog, SyncRecord
from syncline.cli.app import run_cli
from syncline.security.secrets import SecretBox


@pytest.fixture
def syncs(catalog: Catalog) -> list[SyncRecord]:
    """Three syncs of the default workspace: ``first``, ``second`` and ``third``."""
    return make_syncs(catalog, "first", "second", "third")


@pytest.fixture
def sqlite_catalog(tmp_path: Path, secret_box: SecretBox) -> Iterator[Catalog]:
    """A catalog in a SQLite file only, for rules that do not depend on the database."""
    catalog = Catalog.from_url(f"sqlite:///{tmp_path / 'rules.db'}", secrets=secret_box)
    make_syncs(catalog, "first", "second", "third")
    yield catalog
    catalog.close()


@pytest.fixture
def syncline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Invoke:
    """``syncline ARGS...`` in a fresh folder with its own SYNCLINE_HOME."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYNCLINE_HOME", str(tmp_path / "home"))
    for name in ("SYNCLINE_DATABASE_URL", "SYNCLINE_SECRET_KEY", "SYNCLINE_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SYNCLINE_LOG_LEVEL", "ERROR")
    monkeypatch.setenv("SYNCLINE_LOG_FORMAT", "text")
    monkeypatch.setenv("COLUMNS", "200")

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        code = run_cli(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke
