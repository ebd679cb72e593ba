"""Helpers of the webhook tests: destinations, batches and whole runs."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from syncline.connectors.destinations.base import (
    BatchResult,
    FieldSpec,
    SyncMode,
    WriteAction,
    WriteBatch,
    WriteContext,
)
from syncline.connectors.destinations.webhook import WebhookDestination

CONTEXT = WriteContext(
    sync_id=7,
    run_id=41,
    object="contacts",
    mode=SyncMode.UPSERT,
    id_field="id",
    fields=(FieldSpec("id", pa.int64()), FieldSpec("email", pa.string())),
)


def destination(url: str, **settings: Any) -> WebhookDestination:
    """A webhook destination for ``url`` with quick backoff unless told otherwise."""
    return WebhookDestination.from_config(
        {"url": url, "backoff_base": 0.01, "backoff_max": 0.05, **settings}
    )


def rows(count: int, start: int = 0) -> WriteBatch:
    """An upsert batch of ``count`` rows with ids from ``start``."""
    ids = list(range(start, start + count))
    table = pa.table({"id": ids, "email": [f"u{i}@example.com" for i in ids]})
    return WriteBatch(WriteAction.UPSERT, table, [str(i) for i in ids])


def send(target: WebhookDestination, batch: WriteBatch) -> BatchResult:
    """Open, write one batch, finish and close."""
    target.open(CONTEXT)
    try:
        result = target.write_batch(batch)
        target.finish()
    finally:
        target.close()
    return result
