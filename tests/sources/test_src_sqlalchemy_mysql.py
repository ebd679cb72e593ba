"""The SQLAlchemy source on MySQL and MariaDB URLs: no client file is read, nothing is written.

Runs against the real MariaDB server on 127.0.0.1:3306, in a database of its own. The
tables are MyISAM, which keeps a write even when the connection closes without a commit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pymysql
import pytest
from pydantic import SecretStr
from source_helpers import mysql_admin, mysql_run

from syncline.connectors.sources.mysql import MySQLSource
from syncline.connectors.sources.sqlalchemy import SQLAlchemyConfig, SQLAlchemySource
from syncline.connectors.sources.sqlalchemy.server_file import server_file
from syncline.errors import ConnectorError, ValidationError


def _count(config: dict[str, Any], table: str) -> int:
    with mysql_admin(config["database"]) as connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM `{table}`")
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def _url(config: dict[str, Any], query: str = "") -> str:
    return f"mysql+pymysql://root@127.0.0.1:3306/{config['database']}{query}"


@pytest.mark.parametrize(
    "query",
    [
        "?local_infile=1",
        "?LOCAL_INFILE=0",
        "?charset=utf8mb4&Local_Infile=true",
        "?allow_local_infile=1",
        "?client_flag=128",
        "?read_default_file=/etc/mysql/my.cnf",
        "?option_files=/etc/mysql/my.cnf",
    ],
)
def test_client_file_options_in_a_mysql_url_are_refused_naming_the_url(query: str) -> None:
    for scheme in ("mysql+pymysql", "mariadb+pymysql", "mysql"):
        with pytest.raises(ValidationError) as caught:
            SQLAlchemyConfig.parse({"url": f"{scheme}://root:Pw5ecret@127.0.0.1/db{query}"})

        [problem] = caught.value.problems
        assert problem.location == "configuration.url"
        assert "Pw5ecret" not in str(caught.value)


@pytest.mark.mariadb
def test_load_data_local_infile_reads_no_file_even_when_the_url_asks(
    mysql_config: dict[str, Any], tmp_path: Path
) -> None:
    mysql_run(mysql_config, "CREATE TABLE loot (line TEXT) ENGINE=MyISAM")
    secret = tmp_path / "secret.key"
    secret.write_text("top-secret-line\n")
    # A configuration stored before validation refused the option still has it.
    config = SQLAlchemyConfig.model_construct(url=SecretStr(_url(mysql_config, "?local_infile=1")))
    source = SQLAlchemySource(config)

    with pytest.raises(ConnectorError):
        source.describe(f"LOAD DATA LOCAL INFILE '{secret}' INTO TABLE loot (line)")

    assert _count(mysql_config, "loot") == 0


@pytest.mark.mariadb
@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM keep",
        "INSERT INTO keep VALUES (9)",
        "UPDATE keep SET id = 0",
    ],
)
def test_a_writing_model_fails_and_changes_nothing(
    mysql_config: dict[str, Any], query: str
) -> None:
    mysql_run(
        mysql_config,
        "CREATE TABLE IF NOT EXISTS keep (id INT) ENGINE=MyISAM",
        "DELETE FROM keep",
        "INSERT INTO keep VALUES (1), (2)",
    )
    source = SQLAlchemySource.from_config({"url": _url(mysql_config)})

    with pytest.raises(ConnectorError) as caught:
        source.describe(query)

    assert "read only" in str(caught.value).lower().replace("-", " ")
    assert _count(mysql_config, "keep") == 2
    with mysql_admin(mysql_config["database"]) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id FROM keep ORDER BY id")
        assert [row[0] for row in cursor.fetchall()] == [1, 2]


@pytest.mark.mariadb
def test_select_models_still_read_rows(mysql_config: dict[str, Any]) -> None:
    mysql_run(
        mysql_config,
        "CREATE TABLE readable (id INT, name VARCHAR(20))",
        "INSERT INTO readable VALUES (1, 'a'), (2, 'b'), (3, 'c')",
    )
    source = SQLAlchemySource.from_config({"url": _url(mysql_config, "?charset=utf8mb4")})

    columns = source.describe("SELECT id, name FROM readable")
    total = sum(batch.num_rows for batch in source.read("SELECT id, name FROM readable"))

    assert [column.name for column in columns] == ["id", "name"]
    assert total == 3


def test_the_driver_is_handed_local_infile_off() -> None:
    url = "mysql+pymysql://root@127.0.0.1:3306/db?local_infile=1&client_flag=130"
    source = SQLAlchemySource(SQLAlchemyConfig.model_construct(url=SecretStr(url)))
    engine = source._engine()
    try:
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        params = dict(kwargs)
        engine.dialect.dispatch.do_connect(engine.dialect, None, list(args), params)
    finally:
        engine.dispose()

    assert not params.get("local_infile")
    assert not int(params.get("client_flag", 0)) & pymysql.constants.CLIENT.LOCAL_FILES


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://u:Pw5ecret@127.0.0.1:notaport/db",
        "postgresql+psycopg://u:Pw5ecret@[::1/db",
        "mysql+pymysql://u:Pw5ecret@127.0.0.1:33o6/db",
    ],
)
def test_an_unreadable_host_or_port_is_a_url_problem_not_a_crash(url: str) -> None:
    assert server_file(url) is None

    with pytest.raises(ValidationError) as caught:
        SQLAlchemyConfig.parse({"url": url})

    [problem] = caught.value.problems
    assert problem.location == "configuration.url"
    assert "port" in problem.message
    assert problem.fix is not None
    assert "Pw5ecret" not in str(caught.value)


@pytest.mark.mariadb
def test_a_mysql_url_types_columns_as_the_mysql_source_does(mysql_config: dict[str, Any]) -> None:
    mysql_run(
        mysql_config,
        "CREATE TABLE typed (id INT PRIMARY KEY, price DECIMAL(10,2), flag TINYINT, "
        "big BIGINT UNSIGNED, at TIMESTAMP(3) NULL, local_at DATETIME, day DATE, "
        "name VARCHAR(20), bits BIT(4), ratio DOUBLE, took TIME)",
        "INSERT INTO typed VALUES (1, 1.00, 1, 18446744073709551615, "
        "'2024-02-29 01:02:03.456', '2024-02-29 01:02:03', '2024-02-29', 'a ', b'1010', "
        "0.5, '01:02:03')",
    )
    fallback = SQLAlchemySource.from_config({"url": _url(mysql_config)})
    dedicated = MySQLSource.from_config(mysql_config)
    query = "SELECT * FROM typed"

    described = fallback.describe(query)
    read = pa.Table.from_batches(list(fallback.read(query)))

    assert described == dedicated.describe(query)
    assert read.equals(pa.Table.from_batches(list(dedicated.read(query))), check_metadata=True)


@pytest.mark.mariadb
def test_a_mysql_url_reads_timestamps_in_utc(mysql_config: dict[str, Any]) -> None:
    source = SQLAlchemySource.from_config({"url": _url(mysql_config)})

    [batch] = list(source.read("SELECT @@session.time_zone AS zone"))

    assert batch.column("zone").to_pylist() == ["+00:00"]
