"""Row hashes computed by PostgreSQL: a 64-bit value per row over chosen columns.

An incremental run reads every model row's key and row hash first and then only the rows
whose hash no longer vouches for their snapshot entry (see
:class:`~syncline.connectors.sources.postgres.two_pass.TwoPassRead`); the server hashes,
so the unchanged rows never cross the network nor pass through the decoder.

A hash may stand for a row's values only if two values it cannot tell apart are read
alike, so each type is hashed by what tells its values apart:

- integers, floats, ``numeric``, ``uuid``, ``text`` and ``varchar`` by the type's own
  extended hash (text under the ``C`` collation, so that a case-insensitive collation
  cannot hide a change of case). ``bigint`` adds a hash of its high 32 bits: PostgreSQL
  folds a bigint to 32 bits before hashing it, so 1 and 4294967296 would collide.
- ``char(n)``, whose hash ignores trailing spaces, adds its length in bytes;
- dates and timestamps by their distance from a fixed day, infinite ones by their text;
- every other type by its text as the server prints it, which tells any two values of
  one type apart.

Each column is hashed with a seed of its own (so that two columns swapping values is a
change) and NULL stands as a constant of the column's; the columns' hashes are combined
with XOR. A change to one column then changes the row's hash unless the two 64-bit
hashes collide, the same odds as the local planner's own prefilter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

ROW_HASH_SCHEME = "pg-row-hash-1"
"""Names how :func:`row_hash_sql` hashes; part of every seed, so a change of scheme
changes every hash and no old hash can vouch for a row."""

_NATIVE = {
    "int2": "hashint2extended({v}, {s})",
    "int4": "hashint4extended({v}, {s})",
    "int8": "(hashint8extended({v}, {s}) # hashint4extended(({v} >> 32)::int4, {t}))",
    "float4": "hashfloat4extended({v}, {s})",
    "float8": "hashfloat8extended({v}, {s})",
    "numeric": "hash_numeric_extended({v}, {s})",
    "uuid": "uuid_hash_extended({v}, {s})",
    "text": 'hashtextextended({v} COLLATE "C", {s})',
    "varchar": 'hashtextextended({v}::text COLLATE "C", {s})',
    "bpchar": (
        '(hashbpcharextended({v} COLLATE "C", {s}) # hashint4extended(octet_length({v}), {t}))'
    ),
    "date": (
        "CASE WHEN isfinite({v}) THEN hashint4extended({v} - DATE '2000-01-01', {s}) "
        'ELSE hashtextextended({v}::text COLLATE "C", {t}) END'
    ),
    "timestamp": (
        "CASE WHEN isfinite({v}) THEN interval_hash_extended({v} - TIMESTAMP 'epoch', {s}) "
        'ELSE hashtextextended({v}::text COLLATE "C", {t}) END'
    ),
    "timestamptz": (
        "CASE WHEN isfinite({v}) THEN "
        "interval_hash_extended({v} - TIMESTAMPTZ 'epoch', {s}) "
        'ELSE hashtextextended({v}::text COLLATE "C", {t}) END'
    ),
}
"""How each type with a hash of its own is hashed: ``{v}`` the value, ``{s}`` and ``{t}``
two seeds of the column's."""

_PRINTED = 'hashtextextended({v}::text COLLATE "C", {s})'
"""How every other type is hashed: by the text the server prints for the value."""


def row_hash_sql(columns: Sequence[tuple[str, str]], signature: str) -> str:
    """A PostgreSQL expression giving the row hash (``int8``) of ``columns``.

    ``columns`` are ``(SQL expression, type name)`` pairs, the type named as
    ``pg_type.typname`` has it (``int4``, ``_text`` for an array). ``signature`` names all
    else the hash must depend on (the columns' names and types, the sync's mappings):
    seeds are derived from it, so a change of it changes every row's hash.
    """
    terms = []
    for index, (value, type_name) in enumerate(columns):
        seed, second, null = (_seed(signature, index, part) for part in ("s", "t", "n"))
        template = _NATIVE.get(type_name, _PRINTED)
        hashed = template.format(v=value, s=seed, t=second)
        terms.append(f"coalesce({hashed}, {null})")
    if not terms:
        return f"{_seed(signature, 0, 'empty')}::int8"
    return " # ".join(terms)


def _seed(signature: str, index: int, part: str) -> str:
    """A signed 64-bit literal derived from the scheme, ``signature``, the column's
    position and ``part``; wrapped in parentheses so a negative one reads as one term."""
    digest = hashlib.blake2b(
        f"{ROW_HASH_SCHEME}\n{signature}\n{index}\n{part}".encode(), digest_size=8
    ).digest()
    value = int.from_bytes(digest, "little", signed=True)
    return f"({value}::int8)"
