"""Name the files a catalog's runs will refuse once an API key or web user exists.

Until then only the operator configures, and runs may use files anywhere but Syncline's
own; the first key or user holds every run to its workspace's file roots (see
:func:`~syncline.security.files.run_file_policy`). A sync that ran a minute before would
then fail, so the command that makes the first one says which resources are affected.
"""

from __future__ import annotations

from typing import Any

from syncline.catalog.catalog import CatalogSession
from syncline.cli import output
from syncline.connectors import registry
from syncline.security.files import (
    catalog_is_shared,
    file_policy,
    path_problems,
    workspace_roots,
)
from syncline.settings import Settings


def roots_apply_already(session: CatalogSession, settings: Settings) -> bool:
    """Whether runs in this catalog are held to the file roots already."""
    return bool(settings.file_roots) or catalog_is_shared(session.orm)


def files_outside_roots(session: CatalogSession, settings: Settings) -> list[str]:
    """The workspace's sources and destinations naming a file off its roots, as
    ``source 'slug'``; configurations are read, never shown."""
    policy = file_policy(settings, session.workspace.slug)
    found = []
    # The two repositories differ in record type only; both reveal a configuration.
    kinds: tuple[tuple[str, Any, Any], ...] = (
        ("source", session.sources, registry.source_class),
        ("destination", session.destinations, registry.destination_class),
    )
    for kind, repository, connector_class in kinds:
        for record in repository.list():
            try:
                config_model = connector_class(record.type).config_model
            except Exception:  # noqa: BLE001 - an unknown type fails elsewhere, by name
                continue
            configuration = repository.plain_configuration(record)
            if path_problems(config_model, configuration, policy):
                found.append(f"{kind} {record.slug!r}")
    return found


def warn_of_files_outside_roots(session: CatalogSession, settings: Settings) -> None:
    """Print which resources name files the runs will refuse from now on, and the fix."""
    found = files_outside_roots(session, settings)
    if not found:
        return
    roots = ", ".join(str(root) for root in workspace_roots(settings, session.workspace.slug))
    output.error_console().print(
        f"warning: with an API key or web user in the catalog, runs keep their files inside "
        f"{roots}; {', '.join(found)} name files outside it, so their runs will fail. "
        "Move the files there and change the paths, or set SYNCLINE_FILE_ROOTS to folders "
        "that hold them (with {workspace} in each when several workspaces share this "
        "installation).",
        markup=False,
    )
