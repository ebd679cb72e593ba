"""What every workspace resource repository shares: lookup by id or slug, lists, deletes."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from syncline.catalog.errors import SlugTakenError
from syncline.catalog.tables import (
    DestinationRecord,
    ModelRecord,
    SourceRecord,
    SyncRecord,
    WorkspaceRecord,
)
from syncline.errors import NotFoundError, Problem, ValidationError

R = TypeVar("R", SourceRecord, DestinationRecord, ModelRecord, SyncRecord)

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,254}$")
"""A resource slug: the rule project files and the API share (lower case, no dots)."""

SLUG_RULE = "1-255 lower-case letters, digits, '-' or '_', starting with a letter or digit"
""":data:`SLUG` in words, as problems and the web UI's hints state it."""

WORKSPACE_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
"""A workspace name, which may also hold capitals and dots (e.g. ``Acme.prod``)."""

_SORTABLE = frozenset({"id", "name", "slug", "created_at", "updated_at", "last_run_at"})

MAX_ROW_ID = 2**63 - 1
"""The largest id any catalog database can store."""

_HINT_LIMIT = 10
"""How many existing resources a not-found message lists."""


class UnsetType:
    """Type of :data:`UNSET`, the marker of an argument left out (unlike ``None``)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = UnsetType()
"""Marks an update argument that was not given, where ``None`` is a valid new value."""


def check_slug(
    slug: str, problems: list[Problem], where: str = "slug", *, workspace: bool = False
) -> None:
    """Add a problem when ``slug`` breaks the slug rule (a workspace's looser one if asked)."""
    if workspace and not WORKSPACE_SLUG.match(slug):
        fix = "use 1-255 letters, digits, '.', '-' or '_', starting with a letter or digit"
    elif not workspace and not SLUG.match(slug):
        fix = f"use {SLUG_RULE}, as in project files"
    else:
        return
    problems.append(Problem(where, f"slug {slug!r} is not valid", fix=fix, value=slug))


def raise_problems(problems: Sequence[Problem]) -> None:
    """Raise every collected problem at once, if there are any."""
    if problems:
        raise ValidationError(problems)


class Repository(Generic[R]):
    """Resources of one kind in one workspace."""

    kind: ClassVar[str]
    """How messages name this kind, e.g. ``source``."""
    plural: ClassVar[str]
    record: type[R]

    def __init__(self, session: Session, workspace_id: int) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def _select(self) -> Select[R]:
        return select(self.record).where(self.record.workspace_id == self.workspace_id)

    def get(self, ident: int | str) -> R:
        """The resource with this id (an int) or slug (a str); NotFoundError names others."""
        if isinstance(ident, int):
            # No id lies beyond a 64-bit integer; drivers overflow before they could say so.
            found = (
                self.session.scalar(self._select().where(self.record.id == ident))
                if 0 < ident <= MAX_ROW_ID
                else None
            )
        else:
            found = self.session.scalar(self._select().where(self.record.slug == ident))
        if found is None:
            raise NotFoundError(self.kind, ident, hint=self._existing())
        return found

    def get_by_slug(self, slug: str) -> R:
        """The resource with this slug in the workspace."""
        return self.get(slug)

    def find(self, ident: int | str) -> R | None:
        """The resource with this id or slug, or None."""
        try:
            return self.get(ident)
        except NotFoundError:
            return None

    def list(
        self,
        *,
        slug: str | None = None,
        name: str | None = None,
        order_by: str = "id",
        offset: int = 0,
        limit: int | None = None,
        tags: Mapping[str, str] | None = None,
        last_run_after: datetime | None = None,
        last_run_before: datetime | None = None,
        **filters: Any,
    ) -> list[R]:
        """Resources in ascending ``order_by`` order, optionally filtered.

        ``filters`` compare columns for equality; ``tags`` keeps resources carrying every
        given tag; ``last_run_after``/``last_run_before`` bound ``last_run_at`` (syncs).
        """
        query = self._select()
        if slug is not None:
            query = query.where(self.record.slug == slug)
        if name is not None:
            query = query.where(getattr(self.record, "name") == name)  # noqa: B009 - not on syncs
        for key, value in (tags or {}).items():
            query = query.where(getattr(self.record, "tags")[key].as_string() == value)  # noqa: B009
        last_run = self.record.__table__.c.get("last_run_at")
        if last_run is not None and last_run_after is not None:
            query = query.where(last_run > last_run_after)
        if last_run is not None and last_run_before is not None:
            query = query.where(last_run < last_run_before)
        for column, value in filters.items():
            if value is not None:
                query = query.where(getattr(self.record, column) == value)

        column = _column_name(order_by)
        if column not in _SORTABLE or column not in self.record.__table__.c:
            raise ValidationError(
                [
                    Problem(
                        location="orderBy",
                        message=f"cannot sort {self.plural} by {order_by!r}",
                        fix="use id, name, slug, createdAt, updatedAt or lastRunAt",
                        value=order_by,
                    )
                ]
            )
        query = query.order_by(self.record.__table__.c[column], self.record.id).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        return list(self.session.scalars(query))

    def count(self) -> int:
        """How many resources of this kind the workspace holds."""
        query = select(func.count()).select_from(self.record)
        return int(
            self.session.scalar(query.where(self.record.workspace_id == self.workspace_id)) or 0
        )

    def delete(self, ident: int | str) -> None:
        """Delete the resource; subclasses refuse when others still depend on it."""
        record = self.get(ident)
        self._check_unused(record)
        self.session.delete(record)
        self.session.flush()

    def _check_unused(self, record: R) -> None:
        return None

    def _add(self, record: R) -> R:
        if self.session.scalar(self._select().where(self.record.slug == record.slug)):
            raise SlugTakenError(self.kind, record.slug)
        try:
            with self.session.begin_nested():
                self.session.add(record)
        except IntegrityError:
            # Another session took the slug between our check and our insert.
            raise SlugTakenError(self.kind, record.slug) from None
        return record

    def _existing(self) -> str:
        rows = self.session.execute(
            select(self.record.id, self.record.slug)
            .where(self.record.workspace_id == self.workspace_id)
            .order_by(self.record.id)
            .limit(_HINT_LIMIT + 1)
        ).all()
        name = self.session.scalar(
            select(WorkspaceRecord.slug).where(WorkspaceRecord.id == self.workspace_id)
        )
        where = f"workspace {name!r}"
        if not rows:
            return f"looked in {where}, which has no {self.plural} yet"
        shown = ", ".join(f"{slug} (id {id_})" for id_, slug in rows[:_HINT_LIMIT])
        more = ", ..." if len(rows) > _HINT_LIMIT else ""
        return f"looked in {where}; its {self.plural}: {shown}{more}"


def _column_name(api_name: str) -> str:
    return {"createdAt": "created_at", "updatedAt": "updated_at", "lastRunAt": "last_run_at"}.get(
        api_name, api_name
    )
