"""A model's query run for a look: its columns with types, and its first rows.

The API's preview and columns endpoints and the web UI's model editor share this
code. The source is built confined to the server's file roots (see
:mod:`syncline.security.files`), so a preview reads no more of the server's disk
than a run of the same model may. Values are made JSON-safe here once, so the page
and the API show a row the same way.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa

from syncline.catalog import Catalog
from syncline.connectors.destinations.sql.durations import duration_text, is_duration_like
from syncline.connectors.sources.base import Column, Source
from syncline.connectors.sources.infinity import python_values
from syncline.security.files import confined_source, file_policy
from syncline.settings import Settings

PREVIEW_ROWS = 100
"""The most rows a preview shows."""


@dataclass(frozen=True)
class Preview:
    """The columns of a query and its first rows, each row's values in column order."""

    columns: list[Column]
    rows: list[list[Any]]


@contextmanager
def stored_source(
    catalog: Catalog, workspace_id: int, source_id: int, settings: Settings
) -> Iterator[Source]:
    """The workspace's source ``source_id``, confined to the file roots, closed on exit.

    The catalog session ends before the source connects, so a slow warehouse holds no
    catalog transaction open.

    Raises:
        NotFoundError: no such source in the workspace.
        ValidationError: its configuration names a path off the file roots.
    """
    with catalog.session(workspace_id, read_only=True) as session:
        record = session.sources.get(source_id)
        source_type = record.type
        configuration = session.sources.plain_configuration(record)
        files = file_policy(settings, session.workspace.slug)

    source: Source = confined_source(source_type, configuration, files)
    try:
        yield source
    finally:
        source.close()


def query_columns(source: Source, sql: str | None, table: str | None) -> list[Column]:
    """The columns of ``sql``, or of ``table`` quoted in the source's own dialect."""
    return source.describe(_query(source, sql, table))


def preview(
    catalog: Catalog,
    workspace_id: int,
    source_id: int,
    sql: str | None,
    table: str | None,
    settings: Settings,
    *,
    limit: int = PREVIEW_ROWS,
) -> Preview:
    """The columns and first ``limit`` rows of ``sql`` (or of ``table``) on the source.

    Raises:
        NotFoundError: no such source in the workspace.
        ValidationError: the source's configuration names a path off the file roots.
        ConnectorError: the source refused the query; its own message says why.
    """
    limit = max(1, min(limit, PREVIEW_ROWS))
    with stored_source(catalog, workspace_id, source_id, settings) as source:
        query = _query(source, sql, table)
        columns = source.describe(query)
        batches = source.read(query, batch_rows=limit)
        try:
            first = next(batches, None)
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()

    if first is None or first.num_rows == 0:
        return Preview(columns, [])
    shown = first.slice(0, limit)
    values = [shown_values(column) for column in shown.columns]
    return Preview(columns, [list(row) for row in zip(*values, strict=True)])


def shown_values(column: pa.Array) -> list[Any]:
    """A column's values as a preview shows them, each JSON-safe.

    Durations are ISO 8601 text and infinite dates the words ``infinity`` and
    ``-infinity``, as the command line's preview writes them.
    """
    if is_duration_like(column.type):
        texts: list[Any] = duration_text(column).to_pylist()
        return texts
    return [json_safe(value) for value in python_values(column)]


def json_safe(value: Any) -> Any:
    """``value`` as JSON can carry it without loss or error.

    Decimals become text (a float would round them), times ISO 8601 text, bytes
    base64 text, and NaN or an infinite float its name, since JSON has no such numbers.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _iso_duration(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        # Arrow's maps come to Python as lists of (key, value) pairs.
        return [json_safe(item) for item in value]
    return str(value)


def _iso_duration(value: dt.timedelta) -> str:
    sign = "-" if value < dt.timedelta(0) else ""
    value = abs(value)
    seconds = value.seconds + value.microseconds / 1_000_000
    return f"{sign}P{value.days}DT{seconds:g}S"


def _query(source: Source, sql: str | None, table: str | None) -> str:
    # A table is quoted by the source in its own dialect, as a table model's runs do.
    return sql if sql is not None else source.table_query(table or "")
