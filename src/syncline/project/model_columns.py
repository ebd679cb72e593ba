"""The columns a model's query returns, asked of its source, to check keys and mappings.

A model whose primary key is not a column, or a sync that maps a column its model
lacks, would fail only when it runs; asking the source up front lets the API and
``syncline apply`` (and ``syncline validate``, for local files) refuse it with the
model's columns listed. When the source cannot be reached or refuses the query, the answer
is None and a warning is logged: the sync is accepted unchecked rather than refused
because a warehouse is down.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncline.connectors import registry
from syncline.engine.mapping import (
    repeated_columns,
    repeated_columns_fix,
    repeated_columns_message,
)
from syncline.errors import Problem, SynclineError, TransientError
from syncline.security.files import (
    FilePolicy,
    confined_source,
    file_policy,
    operator_file_policy,
    resolve,
)
from syncline.security.masking import redact
from syncline.settings import Settings

logger = logging.getLogger(__name__)

REASON_LIMIT = 300
"""Characters of a source's error kept in a warning about unread columns."""


@dataclass(frozen=True)
class ModelColumns:
    """What a source answered when asked for a model's columns."""

    names: list[str] | None
    """The column names; None when they could not be read."""
    reason: str | None = None
    """Why not, in one line without secrets, when ``names`` is None."""

    def warning(self, model: str, source_type: str, location: str, origin: Any) -> Problem:
        """The warning that ``model``'s syncs are accepted unchecked, at ``origin``."""
        message = (
            f"the columns of model {model!r} could not be read from its {source_type} source "
            f"({self.reason}), so the mappings of its syncs are unchecked until a run"
        )
        fix = "correct the model's query or table, or check the source answers"
        return Problem(location, message, fix, origin.file, origin.line)


def query_columns(
    source_type: str,
    configuration: Mapping[str, Any],
    sql: str | None,
    table: str | None,
    settings: Settings,
    *,
    workspace: str,
    operator: bool = False,
) -> list[str] | None:
    """Names of the columns the model's query (``sql``, else ``table``) returns, or None.

    See :func:`read_columns`, which also says why the names could not be read.
    """
    return read_columns(
        source_type, configuration, sql, table, settings, workspace=workspace, operator=operator
    ).names


def read_columns(
    source_type: str,
    configuration: Mapping[str, Any],
    sql: str | None,
    table: str | None,
    settings: Settings,
    *,
    workspace: str,
    operator: bool = False,
    policy: FilePolicy | None = None,
) -> ModelColumns:
    """The columns the model's query (``sql``, else ``table``) returns, or why not.

    The source is kept to ``workspace``'s file roots, as when a run queries it; with
    ``operator`` (a project applied from the command line) only when
    ``SYNCLINE_FILE_ROOTS`` is set, see :func:`~syncline.security.files.operator_file_policy`.
    A ``policy`` given replaces both.
    """
    if policy is None:
        if operator:
            policy = operator_file_policy(settings, workspace)
        else:
            policy = file_policy(settings, workspace)
    try:
        source = confined_source(source_type, configuration, policy)
    except (SynclineError, ImportError, AttributeError) as exc:
        reason = _reason(exc, source_type, configuration)
        logger.warning(
            "a %s source cannot be opened to read model columns, so its syncs' mappings are "
            "accepted unchecked: %s",
            source_type,
            reason,
        )
        return ModelColumns(None, reason)
    try:
        query = sql if sql is not None else source.table_query(table or "")
        return ModelColumns([column.name for column in source.describe(query)])
    except SynclineError as exc:
        # An unreachable source is worth a logged warning; a query the source refuses is
        # the model's own problem, which apply and validate show to the person.
        reason = _reason(exc, source_type, configuration)
        level = logging.WARNING if isinstance(exc, TransientError) else logging.INFO
        logger.log(
            level,
            "the columns of a model could not be read from its %s source, so its syncs' "
            "mappings are accepted unchecked: %s",
            source_type,
            reason,
        )
        return ModelColumns(None, reason)
    finally:
        source.close()


def local_columns(
    source_type: str,
    configuration: Mapping[str, Any],
    sql: str | None,
    table: str | None,
    settings: Settings,
    workspace: str,
) -> ModelColumns | None:
    """The model's columns (or why they could not be read) when a local file answers
    without network; None when no local file can.

    ``syncline validate`` asks only these: a SQLite file (always opened read-only) and
    a read-only DuckDB file. The other sources are servers, so those wait for ``apply``.
    A DuckDB query may read other files or remote ones, so it is asked inside DuckDB's
    sandbox of the file's own folder (or of ``SYNCLINE_FILE_ROOTS``), without network;
    a query the sandbox refuses is left for ``apply`` to ask, as before.
    """
    try:
        kind = registry.source_class(source_type).type_name
    except (SynclineError, ImportError, AttributeError):
        return None
    path = configuration.get("path")
    if kind not in ("duckdb", "sqlite") or not isinstance(path, str) or not Path(path).is_file():
        return None
    if kind == "duckdb" and configuration.get("read_only") is False:
        return None
    if kind == "duckdb" and sql is not None:
        policy = _sandbox_policy(Path(path), settings, workspace)
        found = read_columns(
            source_type, configuration, sql, table, settings, workspace=workspace, policy=policy
        )
        return found if found.names is not None else None
    return read_columns(
        source_type, configuration, sql, table, settings, workspace=workspace, operator=True
    )


def _sandbox_policy(database: Path, settings: Settings, workspace: str) -> FilePolicy:
    """The operator's file policy, with DuckDB's sandbox always on: in the file roots
    when they are set, else in the database file's own folder."""
    policy = operator_file_policy(settings, workspace)
    if policy.confine_sql:
        return policy
    return FilePolicy((resolve(database).parent,), policy.protected)


def primary_key_problem(model: str, primary_key: str, columns: list[str]) -> tuple[str, str]:
    """The message and fix for a model whose primary key is not one of its ``columns``."""
    message = (
        f"the primary key {primary_key!r} is not a column of model {model!r} "
        f"(columns: {', '.join(columns) or 'none'})"
    )
    return (
        message,
        "set primaryKey to the column that is unique per row, or return it from the query",
    )


def repeated_columns_problem(model: str, columns: list[str]) -> tuple[str, str] | None:
    """The message and fix for a model whose query returns a column name more than once;
    None when every name is its own."""
    repeated = repeated_columns(columns)
    if not repeated:
        return None
    message = repeated_columns_message(repeated, f"the query of model {model!r}")
    return message, repeated_columns_fix(repeated)


def _reason(error: Exception, source_type: str, configuration: Mapping[str, Any]) -> str:
    """The error in one line, the source's secrets masked, cut to :data:`REASON_LIMIT`."""
    try:
        names = registry.source_class(source_type).config_model.secret_fields()
    except (SynclineError, ImportError, AttributeError):
        names = frozenset()
    secrets = [str(configuration[n]) for n in names if configuration.get(n) is not None]
    text = redact(" ".join(str(error).split()), *secrets)
    return text if len(text) <= REASON_LIMIT else f"{text[: REASON_LIMIT - 3]}..."
