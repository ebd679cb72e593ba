"""Checks of a sync's configuration and schedule that do not need a project file.

The REST API runs these on every sync it creates or changes; they are the checks
``syncline validate`` runs on a sync in YAML (the configuration model, its templates,
the destination's modes and object names, the schedule rules), so both accept and
refuse the same syncs. Problems are located below the sync (``configuration.mode``,
``schedule.schedule.expression``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncline.connectors.destinations.base import (
    RESERVED_FIELD_FIX,
    field_name_problems,
    reserved_field_problem,
)
from syncline.engine.config import StandardMapping, SyncConfiguration, TemplateMapping
from syncline.engine.mapping import (
    sandbox_refusals,
    sync_id_clash,
    template_variables,
    unknown_filters_and_tests,
)
from syncline.errors import ConnectorError, Problem, UserError, ValidationError
from syncline.project.schedule import check_schedule, found_at


def with_standard_mappings(configuration: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration with ``type: standard`` added to mappings written as ``{from, to}``."""
    mappings = configuration.get("mappings")
    if not isinstance(mappings, list):
        return dict(configuration)
    typed = [
        {"type": "standard", **m} if isinstance(m, dict) and "type" not in m and "from" in m else m
        for m in mappings
    ]
    return {**configuration, "mappings": typed}


def check_configuration(
    raw: Mapping[str, Any],
    destination: Any | None,
    *,
    columns: list[str] | None = None,
    model: str = "the model",
    primary_key: str | None = None,
) -> tuple[SyncConfiguration | None, list[Problem]]:
    """The parsed configuration (None when invalid) and every problem found in it.

    ``destination`` is the destination's connector class, when known: the mode must be
    one it supports, and its ``check_object`` (if any) judges the object name.
    ``columns``, when known, are the model's columns, which the mappings must read
    from; ``primary_key``, when known, the model's key, whose field no other mapping
    may write. Problems of one key do not hide those of the others.
    """
    problems: list[Problem] = []
    checkable = parsed = None
    try:
        parsed = SyncConfiguration.parse(with_standard_mappings(raw))
        checkable = parsed
    except ValidationError as exc:
        problems.extend(_plain(problem) for problem in exc.problems)
        checkable = salvaged(raw, exc.problems)

    if checkable is not None:
        problems.extend(template_problems(checkable))
        if columns is not None:
            problems.extend(column_problems(checkable, columns, model))
        if primary_key:
            problems.extend(id_field_problems(checkable, primary_key))
    if destination is not None:
        # An unknown mode is already reported by the configuration model.
        found = destination_problems(destination, raw, columns=columns)
        problems.extend(
            p for p in found if parsed is not None or p.location != "configuration.mode"
        )
    return parsed, problems


def salvage(raw: Mapping[str, Any]) -> SyncConfiguration | None:
    """The configuration parsed, or failing that :func:`salvaged`; None when neither works."""
    try:
        return SyncConfiguration.parse(with_standard_mappings(raw))
    except ValidationError as exc:
        return salvaged(raw, exc.problems)


def salvaged(raw: Mapping[str, Any], found: list[Problem]) -> SyncConfiguration | None:
    """The configuration without the top-level keys and mappings that have problems, when
    that parses.

    A bad ``mode`` says nothing about the mappings, nor a bad mapping about the others,
    so their templates and columns can still be checked and every problem reported in
    one pass. A broken mapping is replaced by one that writes nothing checkable, so the
    others keep their index. None when what is left still does not parse (e.g.
    ``object`` is missing).
    """
    inside = [p.location.split(".")[1:] for p in found if p.location.startswith("configuration.")]
    if not inside or "configuration" in {p.location for p in found}:
        return None
    bad_mappings = {
        int(at[1]) for at in inside if at[0] == "mappings" and len(at) > 1 and at[1].isdigit()
    }
    broken = {at[0] for at in inside if at[0] != "mappings" or len(at) == 1}
    rest = {key: value for key, value in raw.items() if key not in broken}
    if bad_mappings and isinstance(rest.get("mappings"), list):
        rest["mappings"] = [
            _STAND_IN | {"to": f"{_STAND_IN['to']}{index}"} if index in bad_mappings else mapping
            for index, mapping in enumerate(rest["mappings"])
        ]
    try:
        return SyncConfiguration.parse(with_standard_mappings(rest))
    except ValidationError:
        return None


_STAND_IN = {"type": "static", "value": None, "to": "\0broken mapping "}
"""What a broken mapping is replaced by in :func:`salvaged`: a constant no check reads."""


def column_problems(
    configuration: SyncConfiguration, columns: list[str], model: str
) -> list[Problem]:
    """A problem for each mapping or external id reading a column the model does not return.

    ``columns`` are the model's columns as its source describes them; each problem
    lists them, so the mapping can be corrected without another look at the model.
    """
    known = set(columns)
    listed = ", ".join(columns) or "none"
    fix = f"map one of the columns of {model} ({listed}), or change the model's query"
    problems = []
    for index, mapping in enumerate(configuration.mappings):
        if isinstance(mapping, StandardMapping) and mapping.from_ not in known:
            problems.append(
                Problem(
                    f"configuration.mappings.{index}.from",
                    f"column {mapping.from_!r} is not in {model}",
                    fix=fix,
                    value=mapping.from_,
                )
            )
        elif isinstance(mapping, TemplateMapping):
            try:
                used = template_variables(mapping.template, field=mapping.to)
            except UserError:
                continue  # reported by template_problems
            missing = sorted(used - known)
            if missing:
                names = ", ".join(repr(name) for name in missing)
                problems.append(
                    Problem(
                        f"configuration.mappings.{index}.template",
                        f"the template of field {mapping.to!r} reads {names}, not in {model}",
                        fix=fix,
                        value=mapping.template,
                    )
                )
    external = configuration.external_id_mapping
    if external is not None and external.from_ not in known:
        problems.append(
            Problem(
                "configuration.externalIdMapping.from",
                f"column {external.from_!r} is not in {model}",
                fix=fix,
                value=external.from_,
            )
        )
    return problems


def id_field_problems(configuration: SyncConfiguration, primary_key: str) -> list[Problem]:
    """A problem at the mapping that writes the field identifying destination records
    (the external id, else ``primary_key``) from another column or value."""
    clash = sync_id_clash(configuration, primary_key)
    if clash is None:
        return []
    index, message, fix = clash
    to = configuration.mappings[index].to
    return [Problem(f"configuration.mappings.{index}.to", message, fix, value=to)]


def template_problems(parsed: SyncConfiguration) -> list[Problem]:
    """A problem for each template mapping that the engine's Jinja2 sandbox cannot compile:
    bad syntax, or a filter or test it does not have."""
    from jinja2 import TemplateSyntaxError
    from jinja2.sandbox import SandboxedEnvironment

    environment = SandboxedEnvironment(autoescape=False)
    problems = []
    for index, mapping in enumerate(parsed.mappings):
        template = getattr(mapping, "template", None)
        if not isinstance(template, str):
            continue
        try:
            # Compiled, not only parsed: Jinja2 looks filters and tests up when compiling,
            # but those inside a condition only when rendering, so they are looked up here.
            environment.compile(template)
            unknown = unknown_filters_and_tests(environment, template)
        except TemplateSyntaxError as exc:
            where = f" (line {exc.lineno} of the template)" if "\n" in template else ""
            problems.append(
                Problem(
                    f"configuration.mappings.{index}.template",
                    f"the template of field {mapping.to!r} is not valid: {exc.message}{where}",
                    fix=_template_fix(exc),
                    value=template,
                )
            )
            continue
        if unknown:
            problems.append(
                Problem(
                    f"configuration.mappings.{index}.template",
                    f"the template of field {mapping.to!r} uses {unknown[0]}, which Jinja2 "
                    "does not have",
                    fix="use a filter or test Jinja2 has, e.g. upper, lower, trim, default, round",
                    value=template,
                )
            )
        for used, fix in sandbox_refusals(environment, template)[:1]:
            problems.append(
                Problem(
                    f"configuration.mappings.{index}.template",
                    f"the template of field {mapping.to!r} uses {used}, which the sandbox "
                    "templates run in refuses, so every row would be rejected",
                    fix=fix,
                    value=template,
                )
            )
    return problems


def _template_fix(exc: Exception) -> str:
    from jinja2 import TemplateAssertionError

    if isinstance(exc, TemplateAssertionError):
        return "use a filter or test Jinja2 has, e.g. upper, lower, trim, default, round"
    return "correct the template, e.g. {{ column | upper }}"


def declared_fields(raw: Mapping[str, Any], columns: list[str] | None = None) -> list[str]:
    """The destination fields a raw sync configuration names: its mappings' and its
    external id's targets; without mappings, the model's ``columns`` when known."""
    mappings = raw.get("mappings")
    entries = mappings if isinstance(mappings, list) else []
    names = [m["to"] for m in entries if isinstance(m, dict) and isinstance(m.get("to"), str)]
    if not entries and columns is not None:
        names.extend(columns)
    external = raw.get("externalIdMapping")
    if isinstance(external, dict) and isinstance(external.get("to"), str):
        names.append(external["to"])
    return names


def field_name_problems_of(
    destination: Any, raw: Mapping[str, Any], columns: list[str] | None = None
) -> list[Problem]:
    """A problem, at the mapping (or external id) that writes it, for each field name the
    destination would refuse at run time (see
    :func:`~syncline.connectors.destinations.base.field_name_problems`)."""
    mappings = raw.get("mappings")
    entries = mappings if isinstance(mappings, list) else []
    written = [
        (f"configuration.mappings.{index}.to", m["to"])
        for index, m in enumerate(entries)
        if isinstance(m, dict) and isinstance(m.get("to"), str)
    ]
    if not entries and columns is not None:
        written.extend(("configuration.mappings", name) for name in columns)
    external = raw.get("externalIdMapping")
    if isinstance(external, dict) and isinstance(external.get("to"), str):
        written.append(("configuration.externalIdMapping.to", external["to"]))
    blank = [(where, name) for where, name in written if name and not name.strip()]
    problems = [
        Problem(where, f"the field name {name!r} is only spaces", _BLANK_FIX, value=name)
        for where, name in blank
    ]
    named = [entry for entry in written if entry not in blank]
    found = field_name_problems(destination, [name for _, name in named])
    return problems + [
        Problem(named[index][0], message, fix, value=named[index][1])
        for index, message, fix in found
    ]


_BLANK_FIX = "name the destination field with letters or digits, e.g. to: email"
"""Refused before a sync is saved only: syncs stored earlier keep running as they did."""


def reserved_field_message(
    destination: Any, raw: Mapping[str, Any], columns: list[str] | None
) -> str | None:
    """Why the sync's fields clash with those ``destination`` writes itself; None if not."""
    target = raw.get("object")
    if not isinstance(target, str) or not target:
        return None
    return reserved_field_problem(destination, target, declared_fields(raw, columns))


def destination_problems(
    destination: Any, raw: Mapping[str, Any], *, columns: list[str] | None = None
) -> list[Problem]:
    """Problems of the mode, object and field names against what the destination connector
    supports; ``columns``, when known, are the model's."""
    problems = []
    modes = sorted(str(mode) for mode in destination.capabilities.modes)
    mode = raw.get("mode", "upsert")
    if mode not in modes:
        problems.append(
            Problem(
                "configuration.mode",
                f"the destination ({destination.type_name}) does not support mode {mode!r}",
                fix=f"use one of {', '.join(modes)}",
                value=mode,
            )
        )

    check = getattr(destination, "check_object", None)
    target = raw.get("object")
    if callable(check) and isinstance(target, str) and target:
        try:
            check(target)
        except (UserError, ConnectorError) as exc:
            problems.append(
                Problem("configuration.object", " ".join(str(exc).split()), value=target)
            )
            return problems
    if mode in modes and isinstance(target, str) and target:
        refused = mode_refused(destination, mode, target)
        if refused is not None:
            problems.append(Problem("configuration.mode", *refused, value=mode))
    reserved = reserved_field_message(destination, raw, columns)
    if reserved is not None:
        problems.append(Problem("configuration.mappings", reserved, fix=RESERVED_FIELD_FIX))
    problems.extend(field_name_problems_of(destination, raw, columns))
    return problems


def mode_refused(destination: Any, mode: str, target: str) -> tuple[str, str] | None:
    """Why the destination cannot write ``target`` in ``mode``, and the fix, if it cannot.

    A mode may be supported in general but not for every object: a file destination
    cannot ``update`` a file that each run writes anew. The destination's optional
    ``check_mode(mode, object)`` judges; its error names the fix after a ``;``.
    """
    check = getattr(destination, "check_mode", None)
    if not callable(check):
        return None
    try:
        check(mode, target)
    except (UserError, ConnectorError) as exc:
        message, _, fix = " ".join(str(exc).split()).partition("; ")
        return message, fix or "choose another mode or object"
    return None


def check_sync_schedule(raw: Any) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The normalised schedule (None = manual) and its problems, located below ``schedule``."""
    schedule, found = check_schedule(raw)
    problems = [
        Problem(
            ".".join(("schedule", *(str(p) for p in path))),
            message,
            fix,
            value=found_at(raw, path),
        )
        for path, message, fix in found
    ]
    return schedule, problems


def _plain(problem: Problem) -> Problem:
    # pydantic prefixes the messages of custom validators with the error kind.
    message = problem.message.replace("Value error, ", "").replace("Assertion failed, ", "")
    return Problem(problem.location, message, problem.fix, value=problem.value)
