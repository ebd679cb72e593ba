"""What every form shares: errors placed next to their fields, and connector settings fields.

A connector's settings form is drawn from its pydantic configuration model, the
same model the API and ``syncline validate`` check with, so a new connector gets a
form without any UI code and both accept the same values.
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
import textwrap
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import Any, Literal

import pydantic
from pydantic import SecretStr

from syncline.catalog.errors import SlugTakenError
from syncline.errors import Problem, SynclineError, ValidationError
from syncline.web.users import SubmittedForm

FORM = "_form"
"""The errors key of a problem that belongs to no single field."""

CONFIG_PREFIX = "config."
"""Form field names of connector settings start with this."""


def problem_text(problem: Problem) -> str:
    """A problem's message with its fix, as shown under a field: the fix a sentence of its own.

    A fix that starts with a plain word starts with a capital; one that starts with a
    name (``fullResync``, a slug) keeps it as written.
    """
    if not problem.fix:
        return problem.message
    fix = problem.fix
    first = fix.split(" ", 1)[0]
    if first.isalpha() and first.islower():
        fix = fix[0].upper() + fix[1:]
    return f"{problem.message.rstrip('.')}. {fix}"


def form_field(location: str, aliases: dict[str, str]) -> str:
    """The form field a problem's location belongs to.

    An exact alias wins, then the longest alias that is a prefix of the location
    (``configuration.mappings`` takes ``configuration.mappings.2.to``); connector
    settings (``configuration.host``) go to their ``config.`` input.
    """
    if location in aliases:
        return aliases[location]
    prefixes = [p for p in aliases if location.startswith(p + ".")]
    if prefixes:
        return aliases[max(prefixes, key=len)]
    if location.startswith("configuration."):
        return CONFIG_PREFIX + location.removeprefix("configuration.")
    return location or FORM


def in_form_words(exc: Exception, fixes: Mapping[str, str]) -> Exception:
    """``exc`` with each fix that is a key of ``fixes`` replaced by its value.

    The API's fixes name request fields (``skipColumnQuery=true``, ``PATCH``); a form
    gives the way to do the same with its own inputs and buttons.
    """
    if not isinstance(exc, ValidationError):
        return exc
    problems = [replace(p, fix=fixes.get(p.fix or "", p.fix)) for p in exc.problems]
    return ValidationError(problems)


def field_errors(exc: Exception, aliases: dict[str, str] | None = None) -> dict[str, str]:
    """Where each problem of ``exc`` goes on the form: field name → message.

    ``aliases`` maps the API's locations (``modelId``, ``raw.sql``) to form field names.
    """
    aliases = aliases or {}
    found: dict[str, str] = {}

    def put(location: str, message: str) -> None:
        field = form_field(location, aliases)
        found[field] = f"{found[field]}; {message}" if field in found else message

    if isinstance(exc, ValidationError):
        for problem in exc.problems:
            put(problem.location, problem_text(problem))
    elif isinstance(exc, pydantic.ValidationError):
        for error in exc.errors():
            put(".".join(str(p) for p in error["loc"]), error["msg"])
    elif isinstance(exc, SlugTakenError):
        found["slug"] = exc.message
    elif isinstance(exc, SynclineError):
        found[FORM] = exc.message
    else:
        raise exc
    return found


@dataclass(frozen=True)
class ConfigField:
    """One setting of a connector, as the form draws it."""

    name: str
    kind: Literal["text", "number", "password", "checkbox", "select", "json"]
    required: bool
    default: Any
    choices: tuple[str, ...] = ()
    description: str = ""

    @property
    def form_name(self) -> str:
        """The input's name in the form."""
        return CONFIG_PREFIX + self.name


def _kind(annotation: Any) -> tuple[str, tuple[str, ...]]:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _kind(args[0])
    if annotation is SecretStr:
        return "password", ()
    if origin is Literal:
        return "select", tuple(str(a) for a in typing.get_args(annotation))
    if annotation is bool:
        return "checkbox", ()
    if annotation in (int, float):
        return "number", ()
    if annotation is str or getattr(annotation, "__supertype__", None) is str:
        return "text", ()
    if isinstance(annotation, type) and issubclass(annotation, str | PurePath):
        return "text", ()
    return "json", ()


@functools.cache
def attribute_docs(model: type) -> dict[str, str]:
    """The docstrings written under a class's attributes (and its bases'), by attribute name.

    Connector configurations document each setting that way; the form shows the text
    as the setting's hint. A class whose source cannot be read has none.
    """
    docs: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, after in zip(body, body[1:], strict=False):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[node.target.id] = " ".join(after.value.value.replace("``", "").split())
    return docs


def config_fields(connector: Any) -> list[ConfigField]:
    """The settings of a connector class, in declaration order."""
    model: type[pydantic.BaseModel] = connector.config_model
    docs = attribute_docs(model)
    fields = []
    for name, info in model.model_fields.items():
        kind, choices = _kind(info.annotation)
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        if isinstance(default, SecretStr):
            default = None
        fields.append(
            ConfigField(
                name=info.alias or name,
                kind=kind,  # type: ignore[arg-type]
                required=info.is_required(),
                default=default,
                choices=choices,
                description=info.description or docs.get(name, ""),
            )
        )
    return fields


def configuration_from_form(
    fields: list[ConfigField], form: SubmittedForm, *, for_update: bool
) -> dict[str, Any]:
    """A configuration from the posted settings; a blank input leaves the setting out.

    ``for_update`` gives the changes to merge into a stored configuration, as the API
    merges them: a blank setting becomes null (removed), but a blank secret is left
    out, so the stored secret stays.
    """
    configuration: dict[str, Any] = {}
    for field in fields:
        if field.kind == "checkbox":
            configuration[field.name] = form.text(field.form_name) in ("on", "true", "1")
            continue
        raw = form.text(field.form_name)
        if raw == "":
            if for_update and field.kind != "password":
                configuration[field.name] = None
            continue
        if field.kind == "json":
            try:
                configuration[field.name] = json.loads(raw)
            except ValueError:
                configuration[field.name] = raw  # the connector's check reports it
        else:
            configuration[field.name] = raw
    return configuration
