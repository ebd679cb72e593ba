"""Property: after any edits and a run in mirror mode, the destination equals the model."""

from __future__ import annotations

import datetime as dt
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
from engine_doubles import Harness
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncline.engine.report import RunStatus

EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
PLUS_TWO = dt.timezone(dt.timedelta(hours=2))

Row = tuple[str | None, int, int]
"""name, score in halves, timestamp in seconds after EPOCH."""

keys = st.integers(min_value=1, max_value=12)
rows = st.tuples(
    st.sampled_from([None, "", "a", "b", "NULL"]), st.integers(-4, 4), st.integers(0, 3)
)
edit = st.one_of(
    st.tuples(st.just("put"), keys, rows),
    st.tuples(st.just("delete"), keys, st.none()),
)
step = st.tuples(
    st.lists(edit, max_size=5),
    st.booleans(),  # switch the model's representation (noise only)
    st.frozensets(keys, max_size=3),  # keys the destination rejects in this run
)


def model_table(state: dict[int, Row], variant: bool) -> pa.Table:
    """The model, in one of two representations of the same values."""
    ids = sorted(state)
    names = [state[k][0] for k in ids]
    instants = [EPOCH + dt.timedelta(seconds=state[k][2]) for k in ids]
    if variant:
        scores: list[Any] = [Decimal(state[k][1]) / 2 for k in ids]
        score_type = pa.decimal128(12, 4)
        times = [t.astimezone(PLUS_TWO) for t in instants]
        time_type = pa.timestamp("ns", tz="+02:00")
    else:
        scores = [state[k][1] / 2 for k in ids]
        score_type = pa.float64()
        times = instants
        time_type = pa.timestamp("us", tz="UTC")
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "name": pa.array(names, pa.string()),
            "score": pa.array(scores, score_type),
            "at": pa.array(times, time_type),
        }
    )


def destination_view(records: dict[Any, dict[str, Any]]) -> dict[int, Row]:
    return {
        key: (row["name"], int(float(row["score"]) * 2), int((row["at"] - EPOCH).total_seconds()))
        for key, row in records.items()
    }


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(step, min_size=1, max_size=5))
def test_mirror_converges(steps: list[tuple[list[Any], bool, frozenset[int]]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        state: dict[int, Row] = {}
        configuration = {"mode": "mirror", "object": "o", "guards": {"allowEmpty": True}}
        sync = Harness(Path(folder), model_table(state, False), configuration)
        for edits, variant, rejected in steps:
            for kind, key, row in edits:
                if kind == "put":
                    state[key] = row
                else:
                    state.pop(key, None)
            sync.table = model_table(state, variant)
            sync.destination.reject = lambda action, record, rejected=rejected: (
                "rejected" if record["id"] in rejected else None
            )
            result = sync.run()
            assert result.status in (RunStatus.SUCCESS, RunStatus.WARNING), result.error
            if result.status is RunStatus.SUCCESS:
                assert destination_view(sync.destination.records) == state

        sync.destination.reject = None
        sync.table = model_table(state, not variant)
        final = sync.run()
        assert final.status is RunStatus.SUCCESS, final.error
        assert destination_view(sync.destination.records) == state

        # Once converged, a further run finds nothing to do.
        assert sync.run().progress.planned.total == 0
