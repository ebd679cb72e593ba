"""A number past its integer column's range is explained with only the types that would
hold more: suggesting the type the column already has would not help."""

from __future__ import annotations

import pytest

from syncline.connectors.destinations.mysql import reasons as mysql
from syncline.connectors.destinations.postgres import reasons as postgres


def _fix(reason: str) -> str:
    """The types a reason suggests widening the column to."""
    return reason.split("widen the column (to ", 1)[1].split(")", 1)[0]


@pytest.mark.parametrize(
    ("column_type", "wider"),
    [
        ("smallint", "integer, bigint or numeric"),
        ("integer", "bigint or numeric"),
        ("bigint", "numeric"),
    ],
)
def test_postgres_suggests_only_types_wider_than_the_column(column_type: str, wider: str) -> None:
    reason = postgres.explain(
        f"{column_type} out of range",
        {"n": 99999999999999999999},
        {"n": column_type},
        "public.nar",
        id_field="id",
        key_columns=lambda key: [],
    )

    assert f"column 'n' ({column_type})" in reason
    assert _fix(reason) == wider


@pytest.mark.parametrize(
    ("column_type", "wider"),
    [
        ("tinyint(4)", "smallint, mediumint, int, bigint or decimal"),
        ("smallint(6)", "mediumint, int, bigint or decimal"),
        ("int(11)", "bigint or decimal"),
        ("int(10) unsigned", "bigint or decimal"),
        ("bigint(20)", "decimal"),
        ("bigint(20) unsigned", "decimal"),
    ],
)
def test_mysql_suggests_only_types_wider_than_the_column(column_type: str, wider: str) -> None:
    words = "Out of range value for column 'n' at row 1"

    reason = mysql.explain(words, {"n": column_type}, "nar")

    assert f"column 'n' ({column_type})" in reason
    assert _fix(reason) == wider
