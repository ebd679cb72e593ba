"""The planner's DuckDB gets a fixed memory cap by default, which the environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncline.engine.planner.local import LocalPlanner
from syncline.errors import ConfigError
from syncline.settings import PLANNER_MEMORY_LIMIT, load_settings


def _duckdb_limit(tmp_path: Path, limit: str | None) -> str:
    planner = LocalPlanner(
        tmp_path, 1, primary_key="id", id_column="id", memory_limit=limit, in_memory=True
    )
    try:
        row = planner.store.connection.execute("SELECT current_setting('memory_limit')").fetchone()
    finally:
        planner.close()
    assert row is not None
    return str(row[0])


def test_the_default_cap_is_fixed_whatever_the_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNCLINE_PLANNER_MEMORY_LIMIT", raising=False)
    settings = load_settings()

    assert settings.planner_memory_limit == PLANNER_MEMORY_LIMIT == "128MB"
    # DuckDB shows 128 MB (10^6 bytes) in MiB.
    assert _duckdb_limit(tmp_path, settings.planner_memory_limit) == "122.0 MiB"


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
