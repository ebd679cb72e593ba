"""A failed transaction of the snapshot store raises the error that stopped it."""

from __future__ import annotations

import duckdb

from syncline.engine.planner.store import roll_back


def test_rolling_back_what_duckdb_rolled_back_already_raises_nothing() -> None:
    con = duckdb.connect()
    con.execute("BEGIN TRANSACTION")
    # What DuckDB does itself when a signal interrupts a statement of the transaction.
    con.execute("ROLLBACK")

    roll_back(con)


def test_rolling_back_an_open_transaction_undoes_it() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (x INTEGER)")
    con.execute("BEGIN TRANSACTION")
    con.execute("INSERT INTO t VALUES (1)")

    roll_back(con)

    row = con.execute("SELECT count(*) FROM t").fetchone()
    assert row is not None
    assert row[0] == 0
