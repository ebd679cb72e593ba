"""No error leaving a connector holds a secret of its configuration, whatever raised it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from pydantic import SecretStr

from syncline.connectors.config import ConnectorConfig
from syncline.connectors.destinations.base import (
    BatchResult,
    Capabilities,
    Destination,
    RowFailure,
    WriteBatch,
    WriteContext,
)
from syncline.connectors.sources.base import DEFAULT_BATCH_ROWS, Column, Source
from syncline.errors import TerminalError, TransientError


class _Config(ConnectorConfig):
    host: str = "127.0.0.1"
    password: SecretStr
    headers: dict[str, SecretStr] = {}


class _Leaky(Source):
    type_name = "leaky"
    config_model = _Config
    dialect = "duckdb"

    def test(self) -> None:
        raise TerminalError("login with pw-Leak-1 failed", connector="leaky")

    def describe(self, query: str) -> list[Column]:
        raise TransientError("header Bearer hdr-Leak-2 refused", connector="leaky")

    def read(self, query: str, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        yield pa.record_batch({"a": [1]})
        raise TerminalError("read as pw-Leak-1 failed", connector="leaky")


class _LeakyDestination(Destination):
    type_name = "leaky"
    config_model = _Config
    capabilities = Capabilities(modes=frozenset(), max_batch_rows=1)

    def test(self) -> None:
        raise TerminalError("x?password=pw-Leak-1 refused", connector="leaky")

    def open(self, context: WriteContext) -> None:
        raise TerminalError("open as pw-Leak-1 failed", connector="leaky")

    def write_batch(self, batch: WriteBatch) -> BatchResult:
        return BatchResult([], error=TransientError("pw-Leak-1 timed out", connector="leaky"))


RAW: dict[str, Any] = {"password": "pw-Leak-1", "headers": {"Authorization": "hdr-Leak-2"}}


def test_a_source_error_never_holds_a_secret_value() -> None:
    source = _Leaky.from_config(dict(RAW))

    for call in (source.test, lambda: source.describe("q"), lambda: list(source.read("q"))):
        with pytest.raises((TerminalError, TransientError)) as caught:
            call()
        assert "Leak" not in str(caught.value), str(caught.value)
        assert "***" in str(caught.value)


def test_a_destination_error_never_holds_a_secret_value() -> None:
    destination = _LeakyDestination.from_config(dict(RAW))

    with pytest.raises(TerminalError) as caught:
        destination.test()
    assert "Leak" not in str(caught.value)

    with pytest.raises(TerminalError) as opened:
        destination.open(None)  # type: ignore[arg-type]
    assert "Leak" not in str(opened.value)

    result = destination.write_batch(None)  # type: ignore[arg-type]
    assert result.error is not None
    assert "Leak" not in str(result.error)


class _EchoingDestination(_LeakyDestination):
    def write_batch(self, batch: WriteBatch) -> BatchResult:
        echoed = 'HTTP 400 Bad Request: {"Authorization": "hdr-Leak-2", "pw": "pw-Leak-1"}'
        return BatchResult([RowFailure(0, echoed, False), RowFailure(1, "no email", True)])


def test_a_rejected_row_reason_never_holds_a_secret_value() -> None:
    destination = _EchoingDestination.from_config(dict(RAW))

    failures = destination.write_batch(None).failures  # type: ignore[arg-type]

    assert [f.index for f in failures] == [0, 1]
    assert "Leak" not in failures[0].reason
    assert failures[0].reason.startswith("HTTP 400 Bad Request: ")
    assert failures[0].retryable is False
    assert failures[1].reason == "no email"
