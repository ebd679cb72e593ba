"""The planner's DuckDB is capped at a quarter of the machine's memory unless the environment
says otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from syncline.engine.planner.local import LocalPlanner
from syncline.errors import ConfigError
from syncline.settings import default_planner_memory_limit, load_settings


def _duckdb_limit(tmp_path: Path, limit: str | None) -> str:
    planner = LocalPlanner(
        tmp_path, 1, primary_key="id", id_column="id", memory_limit=limit, in_memory=True
    )
    try:
        # The cap is DuckDB's limit while the planner may take it (see SnapshotStore.at_cap).
        with planner.store.at_cap():
            row = planner.store.connection.execute(
                "SELECT current_setting('memory_limit')"
            ).fetchone()
    finally:
        planner.close()
    assert row is not None
    return str(row[0])


def test_the_default_cap_is_a_quarter_of_the_machines_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNCLINE_PLANNER_MEMORY_LIMIT", raising=False)
    settings = load_settings()

    total_mib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    quarter = max(256, total_mib // 4)
    assert settings.planner_memory_limit == default_planner_memory_limit() == f"{quarter}MiB"
    # DuckDB shows the cap with one decimal in its own unit, rounded down.
    shown = _duckdb_limit(tmp_path, settings.planner_memory_limit)
    number, unit = shown.split()
    scale = {"MiB": 1, "GiB": 1024}[unit]
    assert 0 <= quarter - float(number) * scale < 0.1 * scale


def test_a_planner_without_a_cap_takes_the_default(tmp_path: Path) -> None:
    assert _duckdb_limit(tmp_path, None) == _duckdb_limit(tmp_path, default_planner_memory_limit())


def test_the_environment_overrides_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCLINE_PLANNER_MEMORY_LIMIT", "1GiB")
    settings = load_settings()

    assert settings.planner_memory_limit == "1GiB"
    assert _duckdb_limit(tmp_path, settings.planner_memory_limit) == "1.0 GiB"


@pytest.mark.parametrize("value", ["lots", "10 percent", "GB"])
def test_a_memory_cap_that_is_no_size_is_a_settings_error(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SYNCLINE_PLANNER_MEMORY_LIMIT", value)

    with pytest.raises(ConfigError, match="SYNCLINE_PLANNER_MEMORY_LIMIT"):
        load_settings()
