"""Text ids a key column would store in another form are found, per dialect."""

from __future__ import annotations

import pyarrow as pa
import pytest

from syncline.connectors.destinations.sql.keys import refuse_rewritten_keys

IDS = ["1", "01", " 1", "-0", "1.50", "1.5", "2024-01-01", "2024-1-1", "abc", None]


@pytest.mark.parametrize(
    ("dialect", "column_type", "refused"),
    [
        ("postgres", "integer", [1, 2, 3, 4, 5, 6, 7, 8]),
        ("mysql", "bigint(20) unsigned", [1, 2, 3, 4, 5, 6, 7, 8]),
        ("duckdb", "DECIMAL(10,2)", [0, 1, 2, 3, 5, 6, 7, 8]),
        ("postgres", "numeric", [1, 2, 3, 4, 6, 7, 8]),
        ("duckdb", "DATE", [0, 1, 2, 3, 4, 5, 7, 8]),
        ("postgres", "timestamp without time zone", list(range(9))),
        # Text columns keep every id as given.
        ("postgres", "character varying(255)", []),
        ("mysql", "varchar(255)", []),
        ("duckdb", "VARCHAR", []),
        # SQLite turns only number text into a number, in a column of numeric affinity.
        ("sqlite", "INTEGER", [1, 2, 3, 4, 5]),
        ("sqlite", "REAL", [0, 1, 2, 3, 4, 5]),
        ("sqlite", "TEXT", []),
        ("sqlite", "", []),
    ],
)
def test_text_ids_the_key_column_stores_in_another_form_are_refused(
    dialect: str, column_type: str, refused: list[int]
) -> None:
    records = pa.table({"code": pa.array(IDS, pa.string())})

    reasons = refuse_rewritten_keys(records, "code", column_type, "t", dialect=dialect)

    assert sorted(reasons) == refused
    assert all(f"key column 'code' ({column_type}) of table t" in r for r in reasons.values())


def test_ids_that_are_not_text_are_left_to_the_checks_of_values() -> None:
    records = pa.table({"code": pa.array([1, 2], pa.int64())})

    assert refuse_rewritten_keys(records, "code", "TEXT", "t", dialect="duckdb") == {}
    assert refuse_rewritten_keys(records, "code", "INTEGER", "t", dialect="sqlite") == {}


def test_sqlite_keeps_whole_numbers_only_while_they_fit_its_integers() -> None:
    ids = pa.array(["9223372036854775807", "9223372036854775808"], pa.string())

    reasons = refuse_rewritten_keys(pa.table({"k": ids}), "k", "INTEGER", "t", dialect="sqlite")

    assert list(reasons) == [1]
