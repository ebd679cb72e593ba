"""Webhook bodies: NaN is refused per row, infinity and intervals are spelled as text."""

from __future__ import annotations

import pyarrow as pa
from receiver import Receiver
from webhook_helpers import destination, send

from syncline.connectors.destinations.base import WriteAction, WriteBatch


def test_nan_rows_are_refused_and_the_rest_sent_with_readable_special_values(
    receiver: Receiver,
) -> None:
    table = pa.table(
        {
            "id": pa.array([1, 2, 3]),
            "score": pa.array([float("nan"), 2.5, float("inf")]),
            "until": pa.array([0, 2**63 - 1, 0], pa.int64()).view(pa.timestamp("us", "UTC")),
            "lapse": pa.array(
                [None, pa.MonthDayNano([1, 0, 500_000_000]), None], pa.month_day_nano_interval()
            ),
        }
    )
    batch = WriteBatch(WriteAction.UPSERT, table, ["1", "2", "3"])

    result = send(destination(receiver.url), batch)

    assert [(f.index, f.retryable) for f in result.failures] == [(0, False), (2, False)]
    assert "'score' holds NaN, which JSON cannot hold" in result.failures[0].reason
    assert receiver.requests[0].json["rows"] == [
        {"id": 2, "score": 2.5, "until": "infinity", "lapse": "P1MT0.5S"}
    ]
