"""The columns a model's query returns, asked of its source, to check a sync's mappings.

A sync that maps a column its model lacks would fail only when it runs; asking the
source up front lets the API and ``syncline apply`` refuse it with the model's
columns listed. When the source cannot be reached or refuses the query, the answer
is None and a warning is logged: the sync is accepted unchecked rather than refused
because a warehouse is down.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from syncline.errors import SynclineError, TransientError
from syncline.security.files import confined_source, file_policy, operator_file_policy
from syncline.settings import Settings

logger = logging.getLogger(__name__)


def query_columns(
    source_type: str,
    configuration: Mapping[str, Any],
    sql: str | None,
    table: str | None,
    settings: Settings,
    *,
    operator: bool = False,
) -> list[str] | None:
    """Names of the columns the model's query (``sql``, else ``table``) returns, or None.

    The source is kept to the server's file roots, as when a run queries it; with
    ``operator`` (a project applied from the command line) only when
    ``SYNCLINE_FILE_ROOTS`` is set, see :func:`~syncline.security.files.operator_file_policy`.
    """
    policy = operator_file_policy(settings) if operator else file_policy(settings)
    try:
        source = confined_source(source_type, configuration, policy)
    except (SynclineError, ImportError, AttributeError) as exc:
        logger.warning(
            "a %s source cannot be opened to read model columns, so its syncs' mappings are "
            "accepted unchecked: %s",
            source_type,
            _one_line(exc),
        )
        return None
    try:
        query = sql if sql is not None else source.table_query(table or "")
        return [column.name for column in source.describe(query)]
    except SynclineError as exc:
        # An unreachable source is worth a warning; a query the source refuses is the
        # model's own problem, which its checks and runs report.
        level = logging.WARNING if isinstance(exc, TransientError) else logging.INFO
        logger.log(
            level,
            "the columns of a model could not be read from its %s source, so its syncs' "
            "mappings are accepted unchecked: %s",
            source_type,
            _one_line(exc),
        )
        return None
    finally:
        source.close()


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
