"""Conformance: connection trouble is transient, configuration mistakes are terminal."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest
from table_backends import POSTGRES_ADMIN, Backend, OpenDestination, PostgresBackend

from syncline.connectors.destinations.base import (
    FieldSpec,
    SyncMode,
    WriteAction,
    WriteBatch,
    WriteContext,
)
from syncline.connectors.registry import destination_class
from syncline.errors import TerminalError, TransientError, ValidationError

FIELDS = {"id": pa.int64(), "name": pa.string()}


def _batch(ids: list[int]) -> WriteBatch:
    records = pa.table({"id": pa.array(ids, pa.int64()), "name": [f"n{i}" for i in ids]})
    return WriteBatch(WriteAction.UPSERT, records, [str(i) for i in ids])


def test_a_lost_connection_is_transient_and_the_next_batch_reconnects(
    backend: Backend, table: str, open_destination: OpenDestination
) -> None:
    destination = open_destination(FIELDS)
    destination.write_batch(_batch([1]))

    with backend.broken_connection(), pytest.raises(TransientError):
        destination.write_batch(_batch([1, 2]))

    # The engine retries the same batch: nothing of the failed attempt was kept.
    assert destination.write_batch(_batch([1, 2])).failures == []
    assert backend.sql(f"SELECT id, name FROM {table} ORDER BY id") == [(1, "n1"), (2, "n2")]


def test_test_accepts_a_working_configuration(backend: Backend) -> None:
    destination_class(backend.kind).from_config(backend.config).test()


@pytest.mark.parametrize(
    ("kind", "config", "words"),
    [
        pytest.param(
            "postgres",
            {"database": "syncline_no_such_database"},
            "does not exist",
            marks=pytest.mark.postgres,
        ),
        pytest.param(
            "mysql",
            {"database": "syncline_no_such_database"},
            "Unknown database",
            marks=pytest.mark.mariadb,
        ),
        ("sqlite", {"path": "/nonexistent-folder/x.sqlite"}, "does not exist"),
    ],
)
def test_test_names_what_is_wrong_as_a_terminal_error(
    kind: str, config: dict[str, object], words: str
) -> None:
    destination = destination_class(kind).from_config(config)

    with pytest.raises(TerminalError) as caught:
        destination.test()

    assert words in str(caught.value)


@pytest.mark.parametrize("kind", ["sqlite", "duckdb"])
def test_a_database_path_under_a_file_or_on_a_folder_fails_the_test_and_the_run(
    kind: str, tmp_path: Path
) -> None:
    (tmp_path / "plain").write_text("not a folder")
    cases = {
        tmp_path / "plain" / "x.db": f"{str(tmp_path / 'plain')!r} is a file, not a folder",
        tmp_path: f"{str(tmp_path)!r} is a folder, not a database file",
    }
    for path, words in cases.items():
        destination = destination_class(kind).from_config({"path": str(path)})
        with pytest.raises(TerminalError, match=re.escape(words)):
            destination.test()
        context = WriteContext(
            sync_id=1,
            run_id=1,
            object="t",
            mode=SyncMode.UPSERT,
            id_field="id",
            fields=(FieldSpec("id", pa.int64()),),
        )
        with pytest.raises(TerminalError, match=re.escape(words)):
            destination.open(context)
        destination.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]


def test_configs_accept_numeric_string_ports_and_hide_passwords() -> None:
    postgres = destination_class("postgres").from_config(
        {"host": "127.0.0.1", "port": "5433", "database": "d", "password": "s3cret", "schema": "x"}
    )
    mysql = destination_class("mariadb").from_config({"database": "d", "password": "s3cret"})

    assert postgres.config.port == 5433
    assert postgres.config.schema_ == "x"
    assert "s3cret" not in repr(postgres.config) + repr(mysql.config)
    assert postgres.config_model.secret_fields() == {"password"}


def test_configs_refuse_unknown_keys() -> None:
    with pytest.raises(ValidationError) as caught:
        destination_class("sqlite").from_config({"path": "x.db", "pth": "typo"})

    assert "configuration.pth" in str(caught.value)


@pytest.mark.postgres
def test_postgres_test_says_which_grant_a_user_without_temp_tables_needs() -> None:
    postgres = PostgresBackend()
    role = f"syncline_c_{uuid.uuid4().hex[:8]}"
    try:
        postgres.sql(f'CREATE ROLE "{role}" LOGIN')
        postgres.sql(f'REVOKE TEMP ON DATABASE "{postgres.database}" FROM PUBLIC')
        config = postgres.config | {"user": role}

        with pytest.raises(TerminalError) as caught:
            destination_class("postgres").from_config(config).test()

        assert f"GRANT TEMP ON DATABASE {postgres.database} TO {role}" in str(caught.value)
    finally:
        postgres.close()
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')
