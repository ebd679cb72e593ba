"""Models: a SQL query or a table on a source, with the primary key of its rows."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from syncline.catalog.commit_log import info_on_commit
from syncline.catalog.errors import InUseError
from syncline.catalog.repository import (
    UNSET,
    Repository,
    UnsetType,
    check_slug,
    raise_problems,
)
from syncline.catalog.tables import ModelRecord, RunRecord, SourceRecord, SyncRecord
from syncline.errors import Problem

logger = logging.getLogger(__name__)

QUERY_TYPES = ("raw_sql", "table")

QUERY_TYPE_FIX = "use raw_sql (with raw.sql) or table (with table.name)"
"""How to fix a model of a query type Syncline does not run (Hightouch's custom, dbt ...)."""
"""The query types Syncline models support."""

_COMPLETED = ("success", "warning")


class ModelRepository(Repository[ModelRecord]):
    """The models of one workspace."""

    kind = "model"
    plural = "models"
    record = ModelRecord

    def create(
        self,
        *,
        name: str,
        slug: str,
        source: SourceRecord | int | str,
        query_type: str,
        primary_key: str | None,
        sql: str | None = None,
        table: str | None = None,
        is_schema: bool = False,
        description: str = "",
        tags: dict[str, str] | None = None,
        folder_id: str | None = None,
    ) -> ModelRecord:
        """Store a new model; ``sql`` is required for ``raw_sql``, ``table`` for ``table``."""
        problems = new_model_problems(slug, query_type, primary_key, sql, table, is_schema)
        source_record = self._source(source, problems)
        raise_problems(problems)

        assert source_record is not None
        record = ModelRecord(
            workspace_id=self.workspace_id,
            source_id=source_record.id,
            name=name,
            slug=slug,
            description=description,
            query_type=query_type,
            sql=sql if query_type == "raw_sql" else None,
            table_name=table if query_type == "table" else None,
            primary_key=primary_key,
            is_schema=is_schema,
            folder_id=folder_id,
            tags=dict(tags or {}),
        )
        self._add(record)
        info_on_commit(
            self.session,
            logger,
            "created model %s (id %s) on source %s",
            slug,
            record.id,
            source_record.slug,
        )
        return record

    def update(
        self,
        ident: int | str,
        *,
        name: str | None = None,
        primary_key: str | None = None,
        sql: str | None = None,
        table: str | None = None,
        is_schema: bool | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        folder_id: str | None | UnsetType = UNSET,
    ) -> ModelRecord:
        """Change the given fields; the query type, source and slug cannot change."""
        record = self.get(ident)
        raise_problems(change_problems(record, sql, table))

        changes: dict[str, Any] = {
            "name": name,
            "primary_key": primary_key,
            "sql": sql,
            "table_name": table,
            "is_schema": is_schema,
            "description": description,
            "tags": tags,
        }
        for column, value in changes.items():
            if value is not None:
                setattr(record, column, value)
        if not isinstance(folder_id, UnsetType):
            record.folder_id = folder_id
        self.session.flush()
        return record

    def sync_ids(self, record: ModelRecord) -> list[int]:
        """Ids of the syncs that use this model, ascending."""
        query = select(SyncRecord.id).where(SyncRecord.model_id == record.id)
        return list(self.session.scalars(query.order_by(SyncRecord.id)))

    def last_run_size(self, record: ModelRecord) -> int | None:
        """Rows the model returned in the latest completed run of any of its syncs."""
        query = (
            select(RunRecord.query_size)
            .join(SyncRecord, SyncRecord.id == RunRecord.sync_id)
            .where(SyncRecord.model_id == record.id, RunRecord.status.in_(_COMPLETED))
            .order_by(RunRecord.finished_at.desc(), RunRecord.id.desc())
            .limit(1)
        )
        return self.session.scalar(query)

    def _source(self, source: SourceRecord | int | str, problems: list[Problem]) -> Any:
        if isinstance(source, SourceRecord):
            source = source.id
        found = self.session.scalar(
            select(SourceRecord).where(
                SourceRecord.workspace_id == self.workspace_id,
                SourceRecord.id == source
                if isinstance(source, int)
                else SourceRecord.slug == source,
            )
        )
        if found is None:
            problems.append(Problem("sourceId", f"source {source!r} does not exist", value=source))
        return found

    def _check_unused(self, record: ModelRecord) -> None:
        users = self.session.scalars(
            select(SyncRecord.slug).where(SyncRecord.model_id == record.id)
        ).all()
        if users:
            raise InUseError(self.kind, record.slug, "syncs", sorted(users))


def new_model_problems(
    slug: str,
    query_type: str,
    primary_key: str | None,
    sql: str | None,
    table: str | None,
    is_schema: bool,
) -> list[Problem]:
    """What is wrong with a new model whatever its source holds (the source is not looked up)."""
    problems: list[Problem] = []
    check_slug(slug, problems)
    problems += query_problems(query_type, sql, table)
    if not is_schema and not primary_key:
        message = "a model that is synced needs a primary key column"
        problems.append(Problem("primaryKey", message, value=primary_key))
    return problems


def query_problems(query_type: str, sql: str | None, table: str | None) -> list[Problem]:
    """What keeps a model's query from being run: an unknown type, or no SQL or table name.

    The API asks this before it sends a new model's query to the source, so a body
    refused anyway costs the warehouse nothing.
    """
    if query_type not in QUERY_TYPES:
        message = f"query type {query_type!r} is not supported"
        return [Problem("queryType", message, fix=QUERY_TYPE_FIX, value=query_type)]
    if query_type == "raw_sql" and not (sql and sql.strip()):
        return [Problem("raw.sql", "a raw_sql model needs its SQL", value=sql)]
    if query_type == "table" and not (table and table.strip()):
        return [Problem("table.name", "a table model needs the table's name", value=table)]
    return []


def change_problems(model: ModelRecord, sql: str | None, table: str | None) -> list[Problem]:
    """What is wrong with a new query for ``model``: the other type's key, or an empty one.

    None of ``sql`` and ``table`` means the query does not change.
    """
    problems: list[Problem] = []
    if sql is not None and model.query_type != "raw_sql":
        message = f"model {model.slug!r} is a table model"
        problems.append(Problem("raw", message, value={"sql": sql}))
    if table is not None and model.query_type != "table":
        message = f"model {model.slug!r} is a raw_sql model"
        problems.append(Problem("table", message, value={"name": table}))
    if not problems and (sql is not None or table is not None):
        problems += query_problems(model.query_type, sql, table)
    return problems
