"""MariaDB values with no exact Arrow reading of the obvious kind: zero dates, BIT(64), FLOAT.

Zero dates ('0000-00-00', '2024-00-15') are no calendar date: the source refuses
them, naming the column and the fix, rather than reading them as NULL. BIT(64) values
use all 64 bits: they are read as unsigned 64-bit integers. FLOAT values, which
MariaDB prints with six digits, are read as the exact single-precision float.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from source_helpers import mysql_run
from sync_runs import sync_once

from syncline.connectors.sources.mysql import MySQLSource
from syncline.engine.report import RunStatus
from syncline.errors import TerminalError

pytestmark = pytest.mark.mariadb

ALL_BITS = 2**64 - 1


@pytest.fixture(scope="module")
def config(mysql_config: dict[str, Any]) -> dict[str, Any]:
    """A table holding zero dates, which only a lenient sql_mode lets in, and BIT columns."""
    mysql_run(
        mysql_config,
        "SET SESSION sql_mode = ''",
        "CREATE TABLE zero (id INT PRIMARY KEY, d DATE, dt DATETIME, ts TIMESTAMP NULL)",
        "INSERT INTO zero VALUES (1, '2024-01-15', '2024-01-15 10:00:00', NULL),"
        " (2, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00'),"
        " (3, '2024-00-15', '2024-00-15 10:00:00', NULL)",
        "CREATE TABLE bits (id INT PRIMARY KEY, wide BIT(64), narrow BIT(4))",
        "INSERT INTO bits VALUES (1, ~0, b'1111'), (2, 0, 0), (3, NULL, NULL)",
        "CREATE TABLE nt (id INT PRIMARY KEY, f FLOAT, fm FLOAT(7,2), d DOUBLE, dm DOUBLE(20,3))",
        "INSERT INTO nt VALUES (1, 16777216, 12345.67, 0.1e0 + 0.2e0, 1234567.891),"
        " (2, 1234567, 0.1, 9007199254740992, 12345678901234.567),"
        " (3, 0.1, -99999.99, 5e-324, 0.001), (4, 3.4028234e38, NULL, NULL, NULL)",
    )
    return mysql_config


@pytest.mark.parametrize(
    ("column", "where"),
    [
        ("d", "id = 2"),
        ("d", "id = 3"),
        ("dt", "id = 2"),
        ("dt", "id = 3"),
        ("ts", "id = 2"),
    ],
)
def test_a_zero_date_fails_the_read_naming_the_column_and_the_fix(
    config: dict[str, Any], column: str, where: str
) -> None:
    source = MySQLSource.from_config(config)

    with pytest.raises(TerminalError) as caught:
        list(source.read(f"SELECT id, {column} FROM zero WHERE {where}"))

    message = str(caught.value)
    assert f"column {column!r}" in message
    assert "NULLIF" in message
    assert "CAST" in message
    # The value itself is row data and is never shown.
    assert "2024-00-15" not in message


def test_valid_dates_beside_the_zero_dates_read_as_dates(config: dict[str, Any]) -> None:
    source = MySQLSource.from_config(config)

    table = pa.Table.from_batches(list(source.read("SELECT d, dt FROM zero WHERE id = 1")))

    assert table.schema.field("d").type == pa.date32()
    assert str(table.to_pylist()[0]["d"]) == "2024-01-15"


def test_the_documented_fixes_read_zero_dates_exactly(config: dict[str, Any]) -> None:
    source = MySQLSource.from_config(config)
    query = (
        "SELECT id, NULLIF(d, '0000-00-00') AS d, CAST(dt AS CHAR) AS dt"
        " FROM zero WHERE id < 3 ORDER BY id"
    )

    rows = pa.Table.from_batches(list(source.read(query))).to_pylist()

    assert [(r["id"], None if r["d"] is None else str(r["d"]), r["dt"]) for r in rows] == [
        (1, "2024-01-15", "2024-01-15 10:00:00"),
        (2, None, "0000-00-00 00:00:00"),
    ]


def test_bit_64_holds_every_value_exactly(config: dict[str, Any]) -> None:
    source = MySQLSource.from_config(config)
    query = "SELECT id, wide, narrow FROM bits ORDER BY id"

    table = pa.Table.from_batches(list(source.read(query)))
    [*described] = source.describe(query)

    assert table.schema.field("wide").type == pa.uint64()
    assert table.schema.field("narrow").type == pa.int64()
    assert pa.schema([c.field() for c in described]).equals(table.schema, check_metadata=True)
    assert [(r["wide"], r["narrow"]) for r in table.to_pylist()] == [
        (ALL_BITS, 0b1111),
        (0, 0),
        (None, None),
    ]


def test_bit_64_and_zero_dates_as_text_plan_exact_changes(
    config: dict[str, Any], tmp_path: Path
) -> None:
    source = MySQLSource.from_config(config)
    query = (
        "SELECT z.id, CAST(z.d AS CHAR) AS d, b.wide FROM zero z"
        " LEFT JOIN bits b ON b.id = z.id ORDER BY z.id"
    )

    first = sync_once(source, query, tmp_path)
    again = sync_once(source, query, tmp_path)
    mysql_run(config, "SET SESSION sql_mode = ''", "UPDATE zero SET d = '2024-00-16' WHERE id = 3")
    changed = sync_once(source, query, tmp_path)
    mysql_run(config, "UPDATE bits SET wide = wide - 1 WHERE id = 1")
    bit_changed = sync_once(source, query, tmp_path)

    assert first.status is RunStatus.SUCCESS, first.error
    assert first.progress.planned.added == 3
    assert again.progress.planned.total == 0
    assert (changed.progress.planned.total, changed.progress.planned.changed) == (1, 1)
    assert (bit_changed.progress.planned.total, bit_changed.progress.planned.changed) == (1, 1)
    assert (tmp_path / "out" / "out.csv").read_text().splitlines() == [
        '"id","d","wide"',
        f'"1","2024-01-15","{ALL_BITS - 1}"',
        '"2","0000-00-00","0"',
        '"3","2024-00-16",',
    ]


def _single(value: float) -> float:
    """The single-precision float nearest ``value``, as a Python float."""
    return float(pa.array([value], pa.float32())[0].as_py())


def test_float_columns_read_as_their_exact_single_precision_value(
    config: dict[str, Any],
) -> None:
    source = MySQLSource.from_config(config)
    query = "SELECT id, f, fm, d, dm FROM nt ORDER BY id"

    table = pa.Table.from_batches(list(source.read(query)))
    [*described] = source.describe(query)

    assert [table.schema.field(n).type for n in ("f", "fm", "d", "dm")] == [
        pa.float32(),
        pa.float32(),
        pa.float64(),
        pa.float64(),
    ]
    assert pa.schema([c.field() for c in described]).equals(table.schema, check_metadata=True)
    assert [(r["f"], r["fm"]) for r in table.to_pylist()] == [
        (16777216.0, _single(12345.67)),
        (1234567.0, _single(0.1)),
        (_single(0.1), _single(-99999.99)),
        (_single(3.4028234e38), None),
    ]
    assert [(r["d"], r["dm"]) for r in table.to_pylist()] == [
        (0.1 + 0.2, 1234567.891),
        (2.0**53, 12345678901234.567),
        (5e-324, 0.001),
        (None, None),
    ]


def test_float_changes_past_six_digits_are_planned(config: dict[str, Any], tmp_path: Path) -> None:
    mysql_run(
        config,
        "CREATE TABLE nt_changes (id INT PRIMARY KEY, f FLOAT)",
        "INSERT INTO nt_changes VALUES (1, 16777216), (2, 1234567), (3, 0.1)",
    )
    source = MySQLSource.from_config(config)
    query = "SELECT id, f FROM nt_changes -- every row"

    first = sync_once(source, query, tmp_path)
    again = sync_once(source, query, tmp_path)
    mysql_run(config, "UPDATE nt_changes SET f = 1234568 WHERE id = 2")
    changed = sync_once(source, query, tmp_path)

    assert first.status is RunStatus.SUCCESS, first.error
    assert first.progress.planned.added == 3
    assert again.progress.planned.total == 0
    assert (changed.progress.planned.total, changed.progress.planned.changed) == (1, 1)
    lines = (tmp_path / "out" / "out.csv").read_text().splitlines()
    assert sorted(lines[1:]) == ['"1","16777216"', '"2","1234568"', '"3","0.1"']


def test_a_float_column_beside_repeated_column_names_is_refused_naming_the_fix(
    config: dict[str, Any],
) -> None:
    source = MySQLSource.from_config(config)

    with pytest.raises(TerminalError) as caught:
        list(source.read("SELECT n.id, n.f, b.id FROM nt n JOIN bits b ON b.id = n.id"))

    assert "'id'" in str(caught.value)
    assert "alias" in str(caught.value)
