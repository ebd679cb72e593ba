"""A project's file paths against the operator's file roots, checked before apply.

A project is the operator's own: with ``SYNCLINE_FILE_ROOTS`` unset its connectors may
name any file but the control plane's key, catalog and snapshots; with it set, the
roots of the project's workspace, as its API clients have them (see
:func:`~syncline.security.files.operator_file_policy`).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from syncline.connectors import registry
from syncline.errors import ConfigError, Problem, ValidationError
from syncline.project.spec import Project
from syncline.security.files import operator_file_policy, path_problems
from syncline.settings import Settings

logger = logging.getLogger(__name__)


def refuse_paths_off_roots(project: Project, settings: Settings) -> None:
    """Raise :class:`ValidationError` naming every project file path the roots refuse."""
    policy = operator_file_policy(settings, project.workspace)
    problems: list[Problem] = []
    kinds = (
        ("sources", project.sources, registry.source_class),
        ("destinations", project.destinations, registry.destination_class),
    )
    for kind, specs, lookup in kinds:
        for slug, spec in specs.items():
            try:
                config_model = lookup(spec.type).config_model
            except (ConfigError, ImportError, AttributeError):
                continue  # an unknown type is reported by validation with its own message
            for problem in path_problems(config_model, spec.configuration, policy):
                location = f"{kind}.{slug}.{problem.location}"
                problems.append(
                    replace(problem, location=location, file=spec.origin.file,
                            line=spec.origin.line)
                )  # fmt: skip
    if problems:
        raise ValidationError(problems)
