"""The catalog: open the control plane, and work on it in short units of work.

Usage::

    catalog = Catalog.open(get_settings())
    with catalog.session() as session:          # the "default" workspace
        source = session.sources.create(name="Warehouse", slug="wh", type="postgres",
                                        configuration={...})
        run = session.runs.enqueue(sync_id)
    # committed here; rolled back instead if the block raised

Opening migrates the database to the newest schema and makes the ``default``
workspace, so a new installation needs no setup step.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from syncline.catalog import migrate
from syncline.catalog import rows as row_results
from syncline.catalog.connections import DestinationRepository, SourceRepository
from syncline.catalog.engine import READ_ONLY, make_engine
from syncline.catalog.keys import ApiKeyRepository, KeyOwner, find_live_key, is_use_stale, note_use
from syncline.catalog.models import ModelRepository
from syncline.catalog.reporter import CatalogRunReporter
from syncline.catalog.runs import RunQueue
from syncline.catalog.sequences import SequenceRepository
from syncline.catalog.shapes import to_api
from syncline.catalog.syncs import SyncRepository
from syncline.catalog.tables import InstallationRecord, WorkspaceRecord
from syncline.catalog.types import utcnow
from syncline.catalog.workspaces import DEFAULT_WORKSPACE, WorkspaceRepository
from syncline.errors import CatalogConnectionLost, ConfigError
from syncline.security.secrets import SecretBox
from syncline.settings import Settings

logger = logging.getLogger(__name__)

T = TypeVar("T")

CATALOG_ATTEMPTS = 6
"""How often :meth:`Catalog.retrying` tries a unit of work whose connection dropped."""

CATALOG_RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0, 4.0)
"""Seconds waited before each try after the first: about 8 s in all, for a catalog
database that restarts or has its backends terminated."""


def lost_connection(exc: BaseException) -> bool:
    """Whether ``exc`` says the catalog's database dropped the connection (a restart, an
    administrator terminating the backend, a network cut), rather than refused a query."""
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class CatalogSession:
    """One unit of work in one workspace: repositories of every resource, one transaction."""

    def __init__(self, orm: Session, workspace: WorkspaceRecord, secrets: SecretBox) -> None:
        self.orm = orm
        """The SQLAlchemy session, for queries the repositories do not offer."""
        self.workspace = workspace
        self.workspace_id = workspace.id
        self.workspaces = WorkspaceRepository(orm)
        self.sources = SourceRepository(orm, workspace.id, secrets)
        self.destinations = DestinationRepository(orm, workspace.id, secrets)
        self.models = ModelRepository(orm, workspace.id)
        self.syncs = SyncRepository(orm, workspace.id)
        self.runs = RunQueue(orm, workspace.id)
        self.sequences = SequenceRepository(orm, workspace.id)
        self.keys = ApiKeyRepository(orm, workspace.id)

    @property
    def installation_id(self) -> str:
        """This installation's id, made with the catalog (see :class:`InstallationRecord`)."""
        found = self.orm.scalars(select(InstallationRecord.id).limit(1)).first()
        if found is None:
            raise ConfigError(
                "the catalog has no installation id: it was not migrated by Syncline; "
                "point SYNCLINE_DATABASE_URL at a catalog Syncline made",
                code="CATALOG_INCOMPLETE",
            )
        return found

    def to_api(self, record: object) -> dict[str, Any]:
        """The API shape (API.md section 4) of a source, destination, model, sync or run."""
        return to_api(self.orm, record)

    def flush(self) -> None:
        """Send pending changes to the database without committing, e.g. to get new ids."""
        self.orm.flush()


@dataclass(frozen=True)
class RowPruning:
    """What one call of :meth:`Catalog.prune_row_results` did."""

    rows: int
    """Row results deleted."""
    done: bool
    """False when it stopped at its chunk limit: more may be due, so call it again."""


class Catalog:
    """The control-plane database of one installation."""

    def __init__(self, engine: Engine, secrets: SecretBox) -> None:
        self.engine = engine
        self.secrets = secrets
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._readers = sessionmaker(
            engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )

    @classmethod
    def open(cls, settings: Settings) -> Catalog:
        """Open the catalog the settings name, migrating it and loading the secret key."""
        return cls.from_url(settings.catalog_url, secrets=SecretBox.from_settings(settings))

    @classmethod
    def from_url(
        cls, url: str, *, secrets: SecretBox | None = None, home: Path | None = None
    ) -> Catalog:
        """Open the catalog at ``url``; the key comes from ``secrets`` or ``home``'s key file."""
        if secrets is None:
            secrets = SecretBox.from_settings(Settings(home=home or Path(".syncline")))

        engine = make_engine(url)
        migrate.upgrade(engine)
        catalog = cls(engine, secrets)
        with catalog._sessions.begin() as orm:
            WorkspaceRepository(orm).ensure_default()
        logger.info("catalog opened (%s)", engine.url.get_backend_name())
        return catalog

    @contextmanager
    def session(
        self, workspace: int | str = DEFAULT_WORKSPACE, *, read_only: bool = False
    ) -> Iterator[CatalogSession]:
        """A unit of work in ``workspace``: committed when the block ends, else rolled back.

        On SQLite a session holds the write lock from its start, so keep sessions short
        and never open a second one inside the first on the same thread. A
        ``read_only`` session takes no lock; it must not write.
        """
        makers = self._readers if read_only else self._sessions
        with makers.begin() as orm:
            record = WorkspaceRepository(orm).get(workspace)
            yield CatalogSession(orm, record, self.secrets)

    def retrying(
        self,
        work: Callable[[CatalogSession], T],
        what: str,
        *,
        idempotent: bool,
        workspace: int | str = DEFAULT_WORKSPACE,
        read_only: bool = False,
    ) -> T:
        """Do ``work`` in a unit of work, again on a fresh connection if the catalog drops
        the one it had; ``what`` names the work in messages ("recording rejected rows").

        A connection dropped before the commit rolled the work back, so it is always done
        again. One dropped during the commit leaves unknown whether it committed: only
        ``idempotent`` work (setting a status, reading) is done again then; other work
        (adding rows) is not, lest it be stored twice.

        Raises:
            CatalogConnectionLost: the commit of work that is not idempotent was cut, or
                the catalog stayed out of reach for every try.
        """
        for attempt in range(CATALOG_ATTEMPTS):
            committing = False
            try:
                with self.session(workspace, read_only=read_only) as session:
                    done = work(session)
                    committing = True
                return done
            except DBAPIError as exc:
                if not lost_connection(exc):
                    raise
                if committing and not idempotent:
                    raise CatalogConnectionLost(
                        f"lost the connection to the catalog while {what}, as it committed: "
                        "whether it was stored is unknown, so it is not done again; the "
                        "catalog's database dropped the connection (a restart, or its "
                        "backend terminated), and a later run goes on from what the "
                        "destination acknowledged"
                    ) from exc
                if attempt + 1 == CATALOG_ATTEMPTS:
                    raise CatalogConnectionLost(
                        f"lost the connection to the catalog while {what}, and "
                        f"{CATALOG_ATTEMPTS} tries on fresh connections failed; check that "
                        "the catalog's database is up and reachable: a later run goes on "
                        "from what the destination acknowledged"
                    ) from exc
                logger.warning(
                    "lost the connection to the catalog while %s; trying again on a fresh "
                    "connection",
                    what,
                )
                time.sleep(CATALOG_RETRY_DELAYS[attempt])
        raise AssertionError("unreachable")  # pragma: no cover

    def authenticate(self, key: str) -> KeyOwner | None:
        """The owner of an API key that exists and is not revoked, else None.

        The lookup only reads; ``last_used_at`` is written at most once a minute per
        key, so authenticating does not make every API request a write.
        """
        with self._readers.begin() as orm:
            record = find_live_key(orm, key)
            if record is None:
                return None
            owner = KeyOwner(record.id, record.workspace_id)
            stale = is_use_stale(record, utcnow())
        if stale:
            with self._sessions.begin() as orm:
                note_use(orm, owner.key_id, utcnow())
        return owner

    def reporter(self, run_id: int) -> CatalogRunReporter:
        """A :class:`~syncline.engine.report.RunReporter` that writes to this run's record."""
        return CatalogRunReporter(self, run_id)

    def prune_row_results(
        self,
        retention: timedelta,
        *,
        sync_id: int | None = None,
        max_chunks: int | None = None,
        chunk: int = row_results.PRUNE_CHUNK,
        now: datetime | None = None,
    ) -> RowPruning:
        """Delete the row results kept longer than ``retention`` that nothing needs any more.

        What is still needed stays whatever its age (see :mod:`syncline.catalog.rows`).
        Every chunk of at most ``chunk`` rows is its own transaction, so a large backlog
        never holds the catalog's write lock for long; ``max_chunks`` bounds the chunks of
        one call and ``sync_id`` limits it to one sync's results.
        """
        if chunk < 1:
            raise ValueError(f"chunk must be at least 1 row, not {chunk}")
        finished_before = (now or utcnow()) - retention
        pruned, done = 0, False
        for _ in itertools.count() if max_chunks is None else range(max_chunks):
            with self._sessions.begin() as orm:
                deleted = row_results.prune(orm, finished_before, sync_id=sync_id, limit=chunk)
            pruned += deleted
            if deleted < chunk:
                done = True
                break

        if pruned:
            logger.info(
                "pruned %d row results of runs finished before %s%s",
                pruned,
                finished_before.isoformat(timespec="seconds"),
                "" if done else "; more are due",
            )
        return RowPruning(pruned, done)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
