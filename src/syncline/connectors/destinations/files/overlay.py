"""A changed record of a maintained file: its mapped fields replaced, its other fields kept.

A sync writes the fields it maps and nothing else, as it does in a table, whose
other columns keep their values. A file may hold fields that no sync maps (added by
hand, or by a mapping since removed); replacing whole records would empty them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection

import pyarrow as pa

from syncline.errors import TerminalError

_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def overlay_columns(old: pa.Table, new: pa.Table, mapped: Collection[str]) -> pa.Table:
    """``new``'s values of the ``mapped`` fields, ``old``'s of every other field.

    Both tables have the same schema and hold the same records in the same order.
    """
    columns = [
        new.column(name) if name in mapped else old.column(name) for name in old.schema.names
    ]
    return pa.table(columns, schema=old.schema)


def overlay_lines(
    old: pa.Array | pa.ChunkedArray, new: pa.Array | pa.ChunkedArray, *, file_name: str
) -> pa.Array:
    """JSON object lines: each ``new`` line, followed by the members of its ``old`` line
    that it does not have, spelled exactly as the old line spelled them.

    Raises:
        TerminalError: an old line is not a JSON object, so its fields cannot be kept.
    """
    lines = []
    for before, after in zip(old.to_pylist(), new.to_pylist(), strict=True):
        names = {name for name, _ in _members(after)}
        try:
            kept = [raw for name, raw in _members(before) if name not in names]
        except ValueError:
            raise TerminalError(
                f"a record of {file_name} is not a JSON object, so its fields cannot be "
                "kept when the sync changes it; fix or remove that line",
                connector="jsonl",
            ) from None
        lines.append(_with_members(after, kept))
    return pa.array(lines, pa.string())


def _with_members(line: str, raw_members: list[str]) -> str:
    """The object text ``line`` with ``raw_members`` added before its closing brace."""
    if not raw_members:
        return line
    body = line.rstrip()[:-1].rstrip()
    separator = "" if body.endswith("{") else ","
    return body + separator + ",".join(raw_members) + "}"


def _at(line: str, index: int) -> int:
    """The index of the first character at or after ``index`` that is not white space."""
    match = _SPACE.match(line, index)
    return match.end() if match else index


def _members(line: str) -> list[tuple[str, str]]:
    """The members of a JSON object text: each name, and the member's own text.

    The member's text is kept as written, so a number such as ``1.10`` or a string's
    escapes are not respelled.

    Raises:
        ValueError: ``line`` is not a JSON object.
    """
    index = _at(line, 0)
    if line[index : index + 1] != "{":
        raise ValueError("not a JSON object")
    index = _at(line, index + 1)
    members: list[tuple[str, str]] = []
    if line[index : index + 1] == "}":
        return members

    while True:
        if line[index : index + 1] != '"':
            raise ValueError("a member name must be a string")
        start = index
        name, index = _DECODER.raw_decode(line, index)
        index = _at(line, index)
        if line[index : index + 1] != ":":
            raise ValueError("a member name must be followed by ':'")
        _, index = _DECODER.raw_decode(line, _at(line, index + 1))
        members.append((name, line[start:index]))

        index = _at(line, index)
        following = line[index : index + 1]
        if following == "}":
            return members
        if following != ",":
            raise ValueError("members must be separated by ','")
        index = _at(line, index + 1)
