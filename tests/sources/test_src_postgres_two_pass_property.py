"""Property: after any edits of a PostgreSQL table and a mirror run that reads it in two
passes, the destination equals the model."""

from __future__ import annotations

import json
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine_runs import StrictReporter, run_sync
from syncline.connectors.registry import destination_class
from syncline.connectors.sources.postgres import PostgresSource, two_pass
from syncline.connectors.sources.postgres.config import PostgresConfig
from syncline.engine.report import RunStatus

pytestmark = pytest.mark.postgres

keys = st.integers(min_value=1, max_value=12)
values = st.tuples(
    st.sampled_from([None, "", "a", "a ", "A"]),
    st.sampled_from([None, -1, 0, 1, 4294967296]),
    st.sampled_from([None, "1.5", "1.50", "2"]),
)
edit = st.one_of(
    st.tuples(st.just("put"), keys, values),
    st.tuples(st.just("delete"), keys, st.none()),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.lists(edit, max_size=6), min_size=1, max_size=5))
def test_mirror_runs_in_two_passes_leave_the_destination_equal_to_the_model(
    pg_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch, steps: list[list[Any]]
) -> None:
    # The tables here are tiny: let every model count as fetchable by key.
    monkeypatch.setattr(two_pass, "PROBE_SHARE", float("inf"))
    conninfo = PostgresConfig.model_validate(pg_config).conninfo(read_only=False)
    with psycopg.connect(conninfo, autocommit=True) as conn, tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        conn.execute("DROP TABLE IF EXISTS prop")
        conn.execute("CREATE TABLE prop (id int PRIMARY KEY, name text, big bigint, n numeric)")
        conn.execute("INSERT INTO prop VALUES (100, 'seed', 1, 1)")
        for run_id, edits in enumerate([[], *steps], start=1):
            for kind, key, row in edits:
                if kind == "delete":
                    conn.execute("DELETE FROM prop WHERE id = %s", [key])
                else:
                    conn.execute(
                        "INSERT INTO prop VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO UPDATE "
                        "SET name = excluded.name, big = excluded.big, n = excluded.n",
                        [key, *row],
                    )
            result = run_sync(
                PostgresSource.from_config(pg_config),
                "SELECT * FROM prop",
                {"mode": "mirror", "object": "out.jsonl"},
                destination_class("jsonl").from_config({"directory": str(folder / "out")}),
                folder / "snapshots",
                run_id=run_id,
                reporter=StrictReporter(),
            )
            assert result.status is RunStatus.SUCCESS, result.error

            model = {
                key: (name, big, None if n is None else Decimal(n))
                for key, name, big, n in conn.execute("SELECT id, name, big, n FROM prop")
            }
            lines = (folder / "out" / "out.jsonl").read_text().splitlines()
            written = {}
            for line in lines:
                record = json.loads(line, parse_float=Decimal)
                n = record["n"]
                # numeric 1.50 equals 1.5: a change of scale alone is not sent again.
                written[record["id"]] = (
                    record["name"],
                    record["big"],
                    None if n is None else Decimal(n),
                )
            assert written == model
