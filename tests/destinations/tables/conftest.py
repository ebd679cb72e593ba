"""Fixtures of the table destination conformance suite: one backend per destination type."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pyarrow as pa
import pytest
from table_backends import (
    Backend,
    DuckDBBackend,
    MariaDBBackend,
    OpenDestination,
    PostgresBackend,
    SQLiteBackend,
)

from syncline.connectors.destinations.base import FieldSpec, SyncMode, WriteContext
from syncline.connectors.destinations.sql.table import TableDestination
from syncline.connectors.registry import destination_class

BACKENDS = [
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mariadb),
    "sqlite",
    "duckdb",
]


@pytest.fixture(scope="module", params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    """A database for one destination type, shared by a module's tests and then dropped."""
    kind = request.param
    made: Backend
    if kind == "postgres":
        made = PostgresBackend()
    elif kind == "mysql":
        made = MariaDBBackend()
    elif kind == "sqlite":
        made = SQLiteBackend(tmp_path_factory.mktemp("sqlite"))
    else:
        made = DuckDBBackend(tmp_path_factory.mktemp("duckdb"))
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def table() -> str:
    """A table name no other test uses."""
    return f"t_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def open_destination(backend: Backend, table: str) -> Iterator[OpenDestination]:
    """Open the backend's destination on ``table`` for a run; closed after the test."""
    opened: list[TableDestination] = []

    def open_(
        fields: dict[str, pa.DataType] | tuple[FieldSpec, ...],
        *,
        mode: SyncMode = SyncMode.UPSERT,
        create: bool = True,
        id_field: str = "id",
        object_name: str | None = None,
    ) -> TableDestination:
        specs = (
            fields
            if isinstance(fields, tuple)
            else tuple(FieldSpec(name, kind) for name, kind in fields.items())
        )
        destination = destination_class(backend.kind).from_config(backend.config)
        opened.append(destination)
        context = WriteContext(
            sync_id=1,
            run_id=1,
            object=object_name or table,
            mode=mode,
            id_field=id_field,
            fields=specs,
            create_object=create,
        )
        destination.open(context)
        return destination

    yield open_
    for destination in opened:
        destination.close()
