"""Connector lookup by short name: built-ins by dotted path, third parties by entry point.

Connector modules are imported only when asked for, so a driver that a project does
not use is never imported.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from syncline.errors import ConfigError

SOURCES: dict[str, str] = {
    "duckdb": "syncline.connectors.sources.duckdb:DuckDBSource",
    "sqlite": "syncline.connectors.sources.sqlite:SQLiteSource",
    "postgres": "syncline.connectors.sources.postgres:PostgresSource",
    "mysql": "syncline.connectors.sources.mysql:MySQLSource",
    "sqlalchemy": "syncline.connectors.sources.sqlalchemy:SQLAlchemySource",
}
"""Built-in source types; ``mariadb`` is an alias of ``mysql``."""

SOURCE_ALIASES = {"mariadb": "mysql", "postgresql": "postgres"}

DESTINATIONS: dict[str, str] = {
    "postgres": "syncline.connectors.destinations.postgres:PostgresDestination",
    "mysql": "syncline.connectors.destinations.mysql:MySQLDestination",
    "sqlite": "syncline.connectors.destinations.sqlite:SQLiteDestination",
    "duckdb": "syncline.connectors.destinations.duckdb:DuckDBDestination",
    "csv": "syncline.connectors.destinations.files:CSVDestination",
    "jsonl": "syncline.connectors.destinations.files:JSONLinesDestination",
    "parquet": "syncline.connectors.destinations.files:ParquetDestination",
    "webhook": "syncline.connectors.destinations.webhook:WebhookDestination",
}
"""Built-in destination types; ``mariadb`` is an alias of ``mysql``."""

DESTINATION_ALIASES = {"mariadb": "mysql", "postgresql": "postgres"}


def _load(ref: str) -> Any:
    module_name, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def _lookup(
    kind: str, group: str, name: str, builtins: dict[str, str], aliases: dict[str, str]
) -> Any:
    key = aliases.get(name.lower(), name.lower())
    if key in builtins:
        return _load(builtins[key])

    for ep in entry_points(group=group):
        if ep.name == key:
            return ep.load()

    known = sorted(set(builtins) | set(aliases) | {ep.name for ep in entry_points(group=group)})
    raise ConfigError(
        f"unknown {kind} type {name!r}; known types: {', '.join(known)}",
        code=f"UNKNOWN_{kind.upper()}_TYPE",
    )


def source_class(name: str) -> Any:
    """The source class registered under ``name``; lists the known names when unknown."""
    return _lookup("source", "syncline.sources", name, SOURCES, SOURCE_ALIASES)


def destination_class(name: str) -> Any:
    """The destination class registered under ``name``; lists the known names when unknown."""
    return _lookup("destination", "syncline.destinations", name, DESTINATIONS, DESTINATION_ALIASES)


def source_types() -> list[str]:
    """Every source type name, built-in and installed."""
    return sorted(set(SOURCES) | {ep.name for ep in entry_points(group="syncline.sources")})


def destination_types() -> list[str]:
    """Every destination type name, built-in and installed."""
    return sorted(
        set(DESTINATIONS) | {ep.name for ep in entry_points(group="syncline.destinations")}
    )
