"""A project's file paths against the file roots its runs will apply, checked before apply.

A project is the operator's own: in a catalog only the operator configures, with
``SYNCLINE_FILE_ROOTS`` unset, its connectors may name any file but the control plane's
key, catalog and snapshots; with it set, or once the catalog holds an API key or a web
user, the roots of the project's workspace, as its runs have them (see
:func:`~syncline.security.files.run_file_policy`). ``validate``, which opens no catalog,
checks the roots only when the setting names them.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from syncline.catalog import Catalog
from syncline.connectors import registry
from syncline.errors import ConfigError, Problem, ValidationError
from syncline.project.spec import Project
from syncline.security.files import (
    FilePolicy,
    catalog_is_shared,
    file_policy,
    path_problems,
    run_file_policy,
)
from syncline.settings import Settings

logger = logging.getLogger(__name__)


def project_file_policy(catalog: Catalog, project: Project, settings: Settings) -> FilePolicy:
    """The file policy the runs of ``project``'s syncs will apply in ``catalog``."""
    with catalog.session(read_only=True) as session:
        shared = catalog_is_shared(session.orm)
    return run_file_policy(settings, project.workspace, shared=shared)


def refuse_paths_off_roots(project: Project, policy: FilePolicy) -> None:
    """Raise :class:`ValidationError` naming every project file path ``policy`` refuses."""
    problems = paths_off_roots(project, policy)
    if problems:
        raise ValidationError(problems)


def roots_problems(project: Project, settings: Settings) -> list[Problem]:
    """For ``validate``: the file paths ``SYNCLINE_FILE_ROOTS`` refuses, at their own
    lines; none when it is unset, as whether runs then keep to the roots depends on the
    catalog (plan and apply check that)."""
    if not settings.file_roots:
        return []
    return paths_off_roots(project, file_policy(settings, project.workspace), at_fields=True)


def paths_off_roots(
    project: Project, policy: FilePolicy, *, at_fields: bool = False
) -> list[Problem]:
    """A problem for each file path of the project's sources and destinations that
    ``policy`` refuses; ``at_fields`` places each at its field as ``validate`` spells it
    (``sources[0].configuration.path``), else at ``sources.<slug>.configuration.path``."""
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
                if at_fields:
                    problems.append(spec.origin.below(problem))
                    continue
                location = f"{kind}.{slug}.{problem.location}"
                problems.append(
                    replace(problem, location=location, file=spec.origin.file,
                            line=spec.origin.line)
                )  # fmt: skip
    return problems
