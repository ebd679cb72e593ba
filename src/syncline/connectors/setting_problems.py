"""Connector setting errors in the user's words: what the setting wants, and the fix.

pydantic's messages speak of Python ("Input is not a valid path for <class
'pathlib.Path'>") and carry no fix; a person editing a YAML file or an API body needs
the kind of value wanted, the range, and what to write. :func:`setting_problem` turns
one pydantic error into that, keyed by pydantic's stable error ``type``.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import ErrorDetails

from syncline.errors import Problem

_KINDS = {
    "int_parsing": ("a whole number", "write digits only, without quotes or units, e.g. 30"),
    "int_type": ("a whole number", "write digits only, without quotes or units, e.g. 30"),
    "int_from_float": ("a whole number", "drop the fraction, e.g. 30"),
    "float_parsing": ("a number", "write a number without quotes or units, e.g. 30 or 2.5"),
    "float_type": ("a number", "write a number without quotes or units, e.g. 30 or 2.5"),
    "decimal_parsing": ("a number", "write a number without quotes or units, e.g. 30 or 2.5"),
    "bool_parsing": ("true or false", "write true or false"),
    "bool_type": ("true or false", "write true or false"),
    "string_type": ("text", "write it as text, in quotes if it looks like a number"),
    "path_type": ("a file or folder path", 'write a path as text, e.g. "./out"'),
    "dict_type": ("a mapping of keys to values", "write it as {key: value, ...}"),
    "list_type": ("a list", "write it as [a, b, ...]"),
    "url_parsing": ("a URL", "write a full URL, e.g. http://127.0.0.1:8080/hook"),
    "url_scheme": ("an http or https URL", "start it with http:// or https://"),
}
"""Error types that say which kind of value the setting wants, with a fix."""

_BOUNDS = {
    "greater_than_equal": ("ge", "at least {limit}", "use {limit} or more"),
    "greater_than": ("gt", "more than {limit}", "use a value above {limit}"),
    "less_than_equal": ("le", "at most {limit}", "use {limit} or less"),
    "less_than": ("lt", "less than {limit}", "use a value below {limit}"),
    "string_too_short": ("min_length", "at least {limit} characters long", "fill it in"),
    "string_too_long": ("max_length", "at most {limit} characters long", "shorten it"),
}
"""Error types of a value out of range: the context key, the rule and the fix."""


def setting_problem(error: ErrorDetails, location: str, value: Any) -> Problem:
    """The problem of one pydantic ``error`` of a connector's settings, at ``location``.

    ``value`` is what to show as the value found (None for a secret).
    """
    kind = error["type"]
    context = error.get("ctx") or {}
    names = [str(part) for part in error["loc"] if isinstance(part, str)]
    setting = f"the setting {names[-1]!r}" if names else "the configuration"
    shown = "" if value is None else f", not {_shown(value)}"
    if kind in _KINDS:
        wanted, fix = _KINDS[kind]
        return Problem(location, f"{setting} must be {wanted}{shown}", fix, value=value)
    if kind == "string_too_short" and context.get("min_length") == 1:
        return Problem(location, f"{setting} must not be empty", "fill it in", value=value)
    if kind in _BOUNDS and _BOUNDS[kind][0] in context:
        key, rule, fix = _BOUNDS[kind]
        limit = context[key]
        message = f"{setting} must be {rule.format(limit=limit)}{shown}"
        return Problem(location, message, fix.format(limit=limit), value=value)
    if kind in ("literal_error", "enum") and "expected" in context:
        expected = str(context["expected"])
        message = f"{setting} must be {expected}{shown}"
        return Problem(location, message, f"use {expected}", value=value)
    if kind == "missing":
        return Problem(location, f"{setting} is required", "add it")
    if kind in ("value_error", "assertion_error"):
        # Our validators write "what is wrong; the fix".
        message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        said, _, fix = message.partition("; ")
        return Problem(location, said, fix or None, value=value)
    return Problem(location, error["msg"], None, value=value)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."
