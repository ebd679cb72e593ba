"""A sync configuration's pydantic errors in the words of the person who wrote it.

pydantic speaks of its models ("mappings.0.standard.to: Field required", "Input should
be a valid dictionary or instance of StandardMapping"). :func:`configuration_problem`
says which mapping or key is wrong and what to write instead, the way the connector
settings do (see :mod:`syncline.connectors.setting_problems`).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic_core import ErrorDetails

from syncline.connectors.setting_problems import setting_problem
from syncline.errors import Problem

MAPPING_TYPES = ("standard", "static", "variable", "template")

_WHAT_TO_WRITE = {
    "to": "add to: the destination field to write, e.g. {from: id, to: id}",
    "from": "add from: the model column to read, e.g. {from: id, to: id}",
    "value": "add value: the constant to write, e.g. {type: static, value: 1, to: source}",
    "variable": "add variable: sync-id, sync-run-id or row-operation",
    "template": "add template: the text to render, e.g. '{{ first }} {{ last }}'",
    "object": "add object: the table or file to write, e.g. object: people",
}
"""For a required key left out: what it holds and an example."""


def configuration_problem(
    error: ErrorDetails, location: str, value: Any, keys: Mapping[str, Sequence[str]]
) -> Problem:
    """The problem of one pydantic ``error`` of a sync configuration, at ``location``.

    ``value`` is what to show as the value found; ``keys`` the keys each part of the
    configuration takes, by the name of the part (``""`` for the top, ``guards``,
    ``externalIdMapping``, and each mapping type).
    """
    loc = error["loc"]
    fix = (error.get("ctx") or {}).get("fix")
    if fix:
        return Problem(location, error["msg"], fix, value=value)
    part = _part(loc)
    kind = error["type"]
    if kind == "invalid_mapping_type":
        return _mapping_type_problem(location, error["input"])
    if kind in ("model_type", "model_attributes_type", "dict_type") and part in MAPPING_TYPES:
        message = f"each mapping must be a mapping such as {{from: id, to: id}}, not {value!r}"
        fix = "write {from: <model column>, to: <destination field>}, or another mapping type"
        return Problem(location, message, fix, value=value)
    if kind == "missing" and loc:
        key = str(loc[-1])
        owner = f"the {part} mapping" if part in MAPPING_TYPES else (part or "the configuration")
        fix = _WHAT_TO_WRITE.get(key, f"add {key}: ...")
        return Problem(location, f"{owner} has no {key!r}", fix)
    if kind == "extra_forbidden" and loc:
        return _unknown_key(location, str(loc[-1]), part, keys.get(part, ()), value)
    if kind in ("value_error", "assertion_error"):
        # The model's own validators already speak plainly ("two mappings write the field
        # 'x'; keep one"), and the web form finds the rows concerned in those words.
        return Problem(location, error["msg"], None, value=value)
    return setting_problem(error, location, value)


def _part(loc: tuple[int | str, ...]) -> str:
    """The part of the configuration holding the key at ``loc``: a mapping's type, a
    nested setting's name, or ``""`` for the top."""
    if len(loc) >= 3 and loc[0] == "mappings" and str(loc[2]) in MAPPING_TYPES:
        return str(loc[2])
    return str(loc[0]) if len(loc) >= 2 else ""


def _mapping_type_problem(location: str, written: Any) -> Problem:
    if not isinstance(written, dict):
        message = f"each mapping must be a mapping such as {{from: id, to: id}}, not {written!r}"
        return Problem(location, message, "write {from: <model column>, to: <destination field>}")
    kind = written.get("type")
    fix = closest(str(kind), MAPPING_TYPES) or f"use one of: {', '.join(MAPPING_TYPES)}"
    return Problem(f"{location}.type", f"unknown mapping type {kind!r}", fix, value=kind)


def _unknown_key(location: str, key: str, part: str, known: Sequence[str], value: Any) -> Problem:
    fix = closest(key, known)
    if fix is None:
        owner = f"a {part} mapping" if part in MAPPING_TYPES else (part or "the configuration")
        fix = f"{owner} takes only {', '.join(known)}" if known else "remove this key"
    return Problem(location, f"unknown key {key!r}", fix, value=value)


def closest(word: str, choices: Sequence[str]) -> str | None:
    """``did you mean '<choice>'?`` for the choice closest to ``word``, if one is close."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"did you mean {close[0]!r}?" if close else None
