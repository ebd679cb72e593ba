"""A MySQL table's unique keys other than the id field's, which can match another record.

``INSERT ... ON DUPLICATE KEY UPDATE`` updates the record that *any* unique key matches, so
on a table with a second unique key a row that collides on it would overwrite another
record. Such tables are written with an UPDATE and an INSERT instead, where a collision is
an error, and the row's reason names the key it collided on and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from syncline.connectors.destinations.sql import reasons

UNIQUE_KEYS_SQL = """
SELECT INDEX_NAME, COLUMN_NAME
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND NON_UNIQUE = 0
ORDER BY INDEX_NAME, SEQ_IN_INDEX
"""
"""The unique keys (the primary key among them) of one table, a row per column."""

_DUPLICATE_KEY = re.compile(r"^Duplicate entry .* for key '(?:[^']*\.)?([^'.]+)'$")
"""MariaDB names the key alone ('code'); MySQL 8 prefixes the table ('t.code')."""


@dataclass(frozen=True)
class UniqueKey:
    """A primary key or unique index of a table, and its columns in order."""

    name: str
    columns: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.name} ({', '.join(self.columns)})"


def unique_keys(rows: Iterable[tuple[str, str]]) -> dict[str, UniqueKey]:
    """The keys :data:`UNIQUE_KEYS_SQL` returned, by name."""
    columns: dict[str, list[str]] = {}
    for index, column in rows:
        columns.setdefault(index, []).append(column)
    return {name: UniqueKey(name, tuple(names)) for name, names in columns.items()}


def other_keys(keys: Mapping[str, UniqueKey], id_field: str) -> dict[str, UniqueKey]:
    """The keys without the id field: a row colliding on one of them is another record.

    A key that holds the id field cannot: its records with the row's id are the row's own.
    """
    return {name: key for name, key in keys.items() if id_field not in key.columns}


def can_match_others(
    keys: Mapping[str, UniqueKey], written: Collection[str], generated: Collection[str]
) -> bool:
    """Whether a row written to ``written`` columns could collide on one of ``keys``.

    A key on a single auto-increment column the sync does not write cannot: the server
    gives every new record a fresh value. That keeps tables with a surrogate key on the
    one-statement upsert.
    """
    made_by_server = {(column,) for column in generated if column not in written}
    return any(key.columns not in made_by_server for key in keys.values())


def collided_key(message: str, keys: Mapping[str, UniqueKey]) -> UniqueKey | None:
    """The key of ``keys`` that a duplicate-entry error ``message`` names, if any."""
    match = _DUPLICATE_KEY.match(message)
    return keys.get(match.group(1)) if match else None


def collision_reason(message: str, key: UniqueKey, table: str, id_field: str) -> str:
    """A rejected row's reason: its fields, the server's words, the key, and the fix."""
    return reasons.unique_taken(message, table, key.name, key.columns, id_field)
