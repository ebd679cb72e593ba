"""JSON booleans only: the API refuses ``"yes"``, ``"true"`` or ``1`` where it takes a boolean.

pydantic's lax mode reads such values as booleans, which suits YAML project files
(``${VAR}`` gives text) and form bodies, but not a JSON API: a client that sends
``"disabled": "yes"`` has a bug it should hear of, not a sync switched off by a
guess. Request bodies declare ``StrictBool``; the configurations inside them
(sync, connector, alert policy) are parsed by models shared with YAML, so the API
walks them with :func:`loose_booleans` before parsing.
"""

from __future__ import annotations

import json
import types
from collections.abc import Iterable
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from syncline.errors import Problem

EXPECTED = "expected true or false"
"""What every refusal of a boolean says, so clients and people can find it."""


def not_a_boolean(name: str, value: Any) -> str:
    """The message for ``value`` sent where the boolean ``name`` belongs."""
    shown = json.dumps(value, ensure_ascii=False, default=str)
    if len(shown) > 40:
        shown = f"{shown[:40]}..."
    return f"{name} must be a JSON boolean, not {shown}; {EXPECTED}"


def loose_booleans(model: type[BaseModel], raw: Any, where: str) -> list[Problem]:
    """A problem for each value of ``raw`` that is not true, false or null where ``model``
    has a boolean field; located below ``where`` as pydantic would locate it."""
    if not isinstance(raw, dict):
        return []  # not a mapping at all: the model's own parsing says so
    problems: list[Problem] = []
    for name, info in model.model_fields.items():
        key = info.alias if info.alias is not None and info.alias in raw else name
        if key in raw:
            problems += _check(info.annotation, raw[key], f"{where}.{key}", key)
    return problems


def replacing(problems: Iterable[Problem], booleans: list[Problem]) -> list[Problem]:
    """``problems`` with those at the places of ``booleans`` replaced by them.

    pydantic refuses ``"maybe"`` too, in its own words; one message per place is enough.
    """
    places = {problem.location for problem in booleans}
    return [*booleans, *(p for p in problems if p.location not in places)]


def _check(annotation: Any, value: Any, where: str, name: str) -> list[Problem]:
    if annotation is bool:
        if isinstance(value, bool):
            return []
        return [Problem(where, not_a_boolean(name, value), value=value)]

    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _check(args[0], value, where, name)
    if origin in (Union, types.UnionType):
        kinds = [arg for arg in args if arg is not type(None)]
        if value is None and len(kinds) < len(args):
            return []
        if len(kinds) > 1:
            # Of several models, the one the value's tag names; other unions are
            # pydantic's to judge ("yes" may be one of their strings).
            kinds = _tagged(kinds, value)
        return _check(kinds[0], value, where, name) if len(kinds) == 1 else []
    if origin is list and args and isinstance(value, list):
        return [
            problem
            for index, item in enumerate(value)
            for problem in _check(args[0], item, f"{where}.{index}", name)
        ]
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return [
            problem
            for key, item in value.items()
            for problem in _check(args[1], item, f"{where}.{key}", str(key))
        ]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return loose_booleans(annotation, value, where)
    return []


def _tagged(kinds: list[Any], value: Any) -> list[Any]:
    """The models among ``kinds`` whose ``Literal`` fields all match ``value`` (a tagged union)."""
    models = [get_args(k)[0] if get_origin(k) is Annotated else k for k in kinds]
    if not isinstance(value, dict) or not all(
        isinstance(m, type) and issubclass(m, BaseModel) for m in models
    ):
        return []
    return [model for model in models if _tag_matches(model, value)]


def _tag_matches(model: type[BaseModel], value: dict[str, Any]) -> bool:
    """Whether ``value`` gives every ``Literal`` field of ``model`` it has one of its values."""
    given = False
    for name, info in model.model_fields.items():
        if get_origin(info.annotation) is not Literal:
            continue
        key = info.alias or name
        if key in value:
            if value[key] not in get_args(info.annotation):
                return False
            given = True
        elif info.is_required():
            return False
    return given
