"""A run asked to stop part way through a batch: no further request, the rest reported unsent."""

from __future__ import annotations

import dataclasses

from receiver import Receiver
from webhook_helpers import CONTEXT, destination, rows


def test_a_stop_between_requests_sends_no_more_and_reports_the_rest_unsent(
    receiver: Receiver,
) -> None:
    target = destination(receiver.url, batch_size=10, concurrency=2)
    # The stop arrives once three requests were answered.
    context = dataclasses.replace(CONTEXT, stop_requested=lambda: len(receiver.requests) >= 3)
    target.open(context)
    try:
        result = target.write_batch(rows(100))
    finally:
        target.close()

    sent = sorted(row["id"] for request in receiver.requests for row in request.json["rows"])
    assert 30 <= len(sent) < 100
    assert result.failures == []
    assert sorted(result.unsent) == [i for i in range(100) if i not in set(sent)]
