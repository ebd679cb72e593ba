"""The row fingerprint is md5 over a length-prefixed encoding, whatever SQL computes it."""

from __future__ import annotations

import hashlib

import duckdb
import pytest

from syncline.engine.canonical import encode_literal, fingerprint_sql


def _reference(values: list[str | None], salt: str) -> int:
    """The fingerprint by its definition: first 8 md5 bytes, little-endian."""
    text = encode_literal(salt) + "".join(
        "N" if value is None else f"V{len(value)}:{value}" for value in values
    )
    return int.from_bytes(hashlib.md5(text.encode()).digest()[:8], "little")


ROWS = [
    ["1", "abc", None],
    [None, None, None],
    ["", "N", "NULL"],
    ["V1:", "10", "1:0"],
    ["é", "Ünïcödé", "x" * 300],
]


@pytest.mark.parametrize("row", ROWS, ids=range(len(ROWS)))
def test_fingerprint_matches_its_definition(row: list[str | None]) -> None:
    salt = '{"mappings":[]}'
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE t (a VARCHAR, b VARCHAR, c VARCHAR)")
        con.execute("INSERT INTO t VALUES (?, ?, ?)", row)
        found = con.execute(f"SELECT {fingerprint_sql(['a', 'b', 'c'], salt)} FROM t").fetchone()
    finally:
        con.close()

    assert found is not None
    assert found[0] == _reference(row, salt)


def test_null_empty_and_the_word_null_all_fingerprint_apart() -> None:
    rows = [[None, "x", "y"], ["", "x", "y"], ["NULL", "x", "y"], ["N", "x", "y"]]
    assert len({_reference(row, "") for row in rows}) == len(rows)
