"""Sources and destinations: connector configurations stored with their secrets encrypted."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncline.catalog.commit_log import info_on_commit
from syncline.catalog.errors import InUseError
from syncline.catalog.repository import Repository, check_slug, raise_problems
from syncline.catalog.tables import DestinationRecord, ModelRecord, SourceRecord, SyncRecord
from syncline.errors import Problem
from syncline.security.secrets import (
    ConnectorKind,
    SecretBox,
    keep_secrets,
    secret_fields,
    secret_query_fields,
    shown_configuration,
)

logger = logging.getLogger(__name__)

C = TypeVar("C", SourceRecord, DestinationRecord)


class _ConnectionRepository(Repository[C]):
    """Connections of one kind (sources or destinations) in one workspace."""

    connector_kind: ConnectorKind

    def __init__(self, session: Session, workspace_id: int, secrets: SecretBox) -> None:
        super().__init__(session, workspace_id)
        self.secrets = secrets

    def create(
        self,
        *,
        name: str,
        slug: str,
        type: str,
        configuration: Mapping[str, Any],
        secret_fields: Iterable[str] | None = None,
    ) -> C:
        """Store a new connection; its secret fields are encrypted before they are written.

        ``secret_fields`` overrides the connector class's declared secrets (see
        :func:`syncline.security.secrets.secret_fields`).
        """
        problems: list[Problem] = []
        check_slug(slug, problems)
        if not name.strip():
            fix = "give the connection a name"
            problems.append(Problem("name", "name is empty", fix=fix, value=name))
        if not type.strip():
            problems.append(
                Problem("type", "type is empty", fix="name a connector type", value=type)
            )
        raise_problems(problems)

        record = self.record(
            workspace_id=self.workspace_id,
            name=name,
            slug=slug,
            type=type,
            configuration=self._seal(type, configuration, secret_fields),
        )
        self._add(record)
        info_on_commit(
            self.session, logger, "created %s %s (id %s, type %s)", self.kind, slug, record.id, type
        )
        return record

    def update(
        self,
        ident: int | str,
        *,
        name: str | None = None,
        configuration: Mapping[str, Any] | None = None,
        secret_fields: Iterable[str] | None = None,
        keep_stored_secrets: bool = True,
    ) -> C:
        """Change the name and/or configuration; stored secrets left out of it are kept.

        With ``keep_stored_secrets=False`` the configuration replaces the stored one
        whole, secrets included (config as code: the project file is the whole truth).
        """
        record = self.get(ident)
        if name is not None:
            record.name = name
        if configuration is not None:
            sealed = self._seal(record.type, configuration, secret_fields)
            if keep_stored_secrets:
                sealed = keep_secrets(sealed, record.configuration)
            record.configuration = sealed
        self.session.flush()
        return record

    def plain_configuration(self, record: C) -> dict[str, Any]:
        """The configuration with secrets decrypted, for building the connector only."""
        return self.secrets.reveal(record.configuration)

    def redacted_configuration(self, record: C) -> dict[str, Any]:
        """The configuration without its secret fields, for display and the API."""
        return shown_configuration(self.connector_kind, record.type, record.configuration)

    def _seal(
        self, type_name: str, configuration: Mapping[str, Any], explicit: Iterable[str] | None
    ) -> dict[str, Any]:
        names = secret_fields(self.connector_kind, type_name, explicit)
        urls = secret_query_fields(self.connector_kind, type_name)
        return self.secrets.seal(configuration, names, urls)


class SourceRepository(_ConnectionRepository[SourceRecord]):
    """The sources of one workspace."""

    kind = "source"
    plural = "sources"
    record = SourceRecord
    connector_kind = "source"

    def _check_unused(self, record: SourceRecord) -> None:
        users = self.session.scalars(
            select(ModelRecord.slug).where(ModelRecord.source_id == record.id)
        ).all()
        if users:
            raise InUseError(self.kind, record.slug, "models", sorted(users))


class DestinationRepository(_ConnectionRepository[DestinationRecord]):
    """The destinations of one workspace."""

    kind = "destination"
    plural = "destinations"
    record = DestinationRecord
    connector_kind = "destination"

    def _check_unused(self, record: DestinationRecord) -> None:
        users = self.session.scalars(
            select(SyncRecord.slug).where(SyncRecord.destination_id == record.id)
        ).all()
        if users:
            raise InUseError(self.kind, record.slug, "syncs", sorted(users))

    def sync_ids(self, record: DestinationRecord) -> list[int]:
        """Ids of the syncs that write to this destination, ascending."""
        query = select(SyncRecord.id).where(SyncRecord.destination_id == record.id)
        return list(self.session.scalars(query.order_by(SyncRecord.id)))
