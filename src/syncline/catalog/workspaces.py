"""Workspaces: the walls between teams' resources; ``default`` exists from the first open."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from syncline.catalog.errors import SlugTakenError
from syncline.catalog.repository import check_slug, raise_problems
from syncline.catalog.tables import WorkspaceRecord
from syncline.errors import NotFoundError, Problem

DEFAULT_WORKSPACE = "default"
"""Slug of the workspace made when the catalog is first opened."""


class WorkspaceRepository:
    """Every workspace of the catalog."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, ident: int | str) -> WorkspaceRecord:
        """The workspace with this id (an int) or slug (a str)."""
        column = WorkspaceRecord.id if isinstance(ident, int) else WorkspaceRecord.slug
        found = self.session.scalar(select(WorkspaceRecord).where(column == ident))
        if found is None:
            existing = ", ".join(w.slug for w in self.list())
            raise NotFoundError("workspace", ident, hint=f"existing workspaces: {existing}")
        return found

    def list(self) -> list[WorkspaceRecord]:
        """Every workspace, by id."""
        return list(self.session.scalars(select(WorkspaceRecord).order_by(WorkspaceRecord.id)))

    def create(self, slug: str, name: str | None = None) -> WorkspaceRecord:
        """A new workspace."""
        problems: list[Problem] = []
        check_slug(slug, problems, workspace=True)
        raise_problems(problems)

        record = WorkspaceRecord(slug=slug, name=name or slug)
        try:
            with self.session.begin_nested():
                self.session.add(record)
        except IntegrityError:
            raise SlugTakenError("workspace", slug) from None
        return record

    def ensure_default(self) -> WorkspaceRecord:
        """The ``default`` workspace, made when missing."""
        found = self.session.scalar(
            select(WorkspaceRecord).where(WorkspaceRecord.slug == DEFAULT_WORKSPACE)
        )
        if found is not None:
            return found
        try:
            return self.create(DEFAULT_WORKSPACE, "Default")
        except SlugTakenError:
            # Another process made it at the same moment.
            return self.get(DEFAULT_WORKSPACE)
