"""A small sample warehouse (a DuckDB file of customers) and a scripted set of changes to it.

The data is generated from fixed formulas, so every quickstart sees the same rows and
the same changes, and the counts a run should report are known in advance.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

CUSTOMERS = 500
"""Rows in the sample ``customers`` table; every seventh customer is inactive."""

_CREATE = f"""
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    email VARCHAR NOT NULL,
    first_name VARCHAR NOT NULL,
    last_name VARCHAR NOT NULL,
    plan VARCHAR NOT NULL,
    lifetime_value DECIMAL(10, 2) NOT NULL,
    signed_up_at TIMESTAMPTZ NOT NULL,
    is_active BOOLEAN NOT NULL
);
INSERT INTO customers
SELECT
    i,
    'customer' || i || '@example.com',
    ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances'][1 + i % 7],
    ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth'][1 + i % 6],
    ['free', 'starter', 'pro', 'enterprise'][1 + (i * 7) % 4],
    CAST(((i * 37) % 1000) * 1.25 AS DECIMAL(10, 2)),
    TIMESTAMPTZ '2024-01-01 00:00:00+00' + INTERVAL (i * 11) HOUR,
    i % 7 <> 0
FROM range(1, {CUSTOMERS} + 1) AS t(i);
"""


@dataclass(frozen=True)
class Changes:
    """How many rows of the model a scripted change adds, changes and removes."""

    added: int
    changed: int
    removed: int


def create_warehouse(path: Path) -> None:
    """Create the sample warehouse file at ``path`` (which must not exist yet)."""
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as connection:
        connection.execute(_CREATE)
    logger.info("sample warehouse created at %s with %d customers", path, CUSTOMERS)


def apply_sample_changes(path: Path) -> Changes:
    """Update, delete and insert customers, and return what the model sees change.

    Five active customers move to the new plan 'scale', three active customers are
    deleted, one is deactivated (so it leaves the model), and four new customers sign up.
    """
    import duckdb

    with duckdb.connect(str(path)) as connection:
        connection.execute("BEGIN")
        connection.execute(
            "UPDATE customers SET plan = 'scale', lifetime_value = lifetime_value + 100 "
            "WHERE id IN (1, 2, 3, 4, 5)"
        )
        connection.execute("DELETE FROM customers WHERE id IN (10, 11, 12)")
        connection.execute("UPDATE customers SET is_active = false WHERE id = 13")
        connection.execute(
            "INSERT INTO customers SELECT id + 1000, 'new' || id || '@example.com', 'Katherine',"
            " 'Johnson', 'starter', 0, TIMESTAMPTZ '2026-01-01 09:00:00+00', true"
            " FROM customers WHERE id IN (1, 2, 3, 4)"
        )
        connection.execute("COMMIT")
    logger.info("sample changes applied to %s", path)
    return Changes(added=4, changed=5, removed=4)
