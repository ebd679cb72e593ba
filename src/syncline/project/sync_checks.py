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

from syncline.engine.config import SyncConfiguration
from syncline.errors import ConnectorError, Problem, UserError, ValidationError
from syncline.project.schedule import check_schedule


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
    raw: Mapping[str, Any], destination: Any | None
) -> tuple[SyncConfiguration | None, list[Problem]]:
    """The parsed configuration (None when invalid) and every problem found in it.

    ``destination`` is the destination's connector class, when known: the mode must be
    one it supports, and its ``check_object`` (if any) judges the object name.
    """
    problems: list[Problem] = []
    try:
        parsed: SyncConfiguration | None = SyncConfiguration.parse(with_standard_mappings(raw))
    except ValidationError as exc:
        parsed = None
        problems.extend(_plain(problem) for problem in exc.problems)

    if parsed is not None:
        problems.extend(template_problems(parsed))
    if destination is not None:
        # An unknown mode is already reported by the configuration model.
        found = destination_problems(destination, raw)
        problems.extend(
            p for p in found if parsed is not None or p.location != "configuration.mode"
        )
    return parsed, problems


def template_problems(parsed: SyncConfiguration) -> list[Problem]:
    """A problem for each template mapping that the engine's Jinja2 sandbox cannot parse."""
    from jinja2 import TemplateSyntaxError
    from jinja2.sandbox import SandboxedEnvironment

    environment = SandboxedEnvironment(autoescape=False)
    problems = []
    for index, mapping in enumerate(parsed.mappings):
        template = getattr(mapping, "template", None)
        if not isinstance(template, str):
            continue
        try:
            environment.parse(template)
        except TemplateSyntaxError as exc:
            where = f" (line {exc.lineno} of the template)" if "\n" in template else ""
            problems.append(
                Problem(
                    f"configuration.mappings.{index}.template",
                    f"the template of field {mapping.to!r} is not valid: {exc.message}{where}",
                    fix="correct the template, e.g. {{ column | upper }}",
                    value=template,
                )
            )
    return problems


def destination_problems(destination: Any, raw: Mapping[str, Any]) -> list[Problem]:
    """Problems of the mode and object against what the destination connector supports."""
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


def check_sync_schedule(raw: Any) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The normalised schedule (None = manual) and its problems, located below ``schedule``."""
    schedule, found = check_schedule(raw)
    problems = [
        Problem(".".join(("schedule", *(str(p) for p in path))), message, fix, value=None)
        for path, message, fix in found
    ]
    return schedule, problems


def _plain(problem: Problem) -> Problem:
    # pydantic prefixes the messages of custom validators with the error kind.
    message = problem.message.replace("Value error, ", "").replace("Assertion failed, ", "")
    return Problem(problem.location, message, problem.fix, value=problem.value)
