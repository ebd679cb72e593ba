"""Whether a sync's table exists, asked of a local SQLite file before a run.

A sync with ``createObject: false`` fails every run while its table is missing; when
the destination is a SQLite file on this machine, ``syncline validate`` can tell at
once. Servers are left to the run: validate sends no traffic.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from syncline.connectors import registry
from syncline.errors import SynclineError
from syncline.security.files import confined_destination, operator_file_policy
from syncline.settings import Settings

LOCAL_FILE_DESTINATIONS = frozenset({"sqlite"})
"""Destination types whose objects are tables of a file that validate may open."""


def missing_table(
    type_name: str,
    configuration: Mapping[str, Any],
    object_name: str,
    settings: Settings,
    workspace: str,
) -> tuple[str, str] | None:
    """Why a sync that may not create its table would fail, and the fix; None when the
    table exists or no local file can tell (the file is missing, or not local)."""
    try:
        cls = registry.destination_class(type_name)
    except (SynclineError, ImportError, AttributeError):
        return None
    path = configuration.get("path")
    if cls.type_name not in LOCAL_FILE_DESTINATIONS or not isinstance(path, str):
        return None
    if not Path(path).is_file():
        return None  # a run would create it empty; it may be made before then
    try:
        policy = operator_file_policy(settings, workspace)
        destination = confined_destination(type_name, configuration, policy)
        if destination.fields(object_name) is not None:
            return None
    except (SynclineError, ImportError, AttributeError):
        return None  # the run reports what stops it
    message = (
        f"table {object_name!r} does not exist in the {cls.type_name} file {path!r}, and "
        "createObject is false, so every run would fail"
    )
    fix = "create the table, or set createObject: true so the sync creates it from its mappings"
    return message, fix
