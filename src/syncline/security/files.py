"""Where file-based connectors may read and write: the operator's file roots.

A DuckDB or SQLite source, a SQLAlchemy source whose URL names a SQLite or DuckDB file,
a DuckDB, SQLite or file destination, and the file reads in a DuckDB model's SQL all
touch the server's disk. Whoever holds an API key or a web
login can configure them, so without a limit any workspace could read
``SYNCLINE_HOME/secret.key`` (which opens every workspace's secrets) or the catalog.

``SYNCLINE_FILE_ROOTS`` names the folders these connectors may use; when it is unset,
only ``SYNCLINE_HOME/files`` is allowed (created on first use). Paths are resolved
(relative to the working directory, ``..`` and symlinks followed) before the check,
and the key file, the catalog database and the snapshot folder are refused even
inside a root. The DuckDB source carries the same roots into DuckDB's own sandbox,
so model SQL cannot leave them either.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from syncline.errors import Problem, ValidationError
from syncline.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

SETTING = "SYNCLINE_FILE_ROOTS"
"""The environment variable naming the allowed folders, ``os.pathsep``-separated."""

DEFAULT_FOLDER = "files"
"""The folder inside ``SYNCLINE_HOME`` allowed when the setting is unset."""


@dataclass(frozen=True)
class FilePolicy:
    """The folders file-based connectors may use, and the files they never may."""

    roots: tuple[Path, ...]
    """Resolved folders; a path is allowed when it is one of them or inside one."""

    protected: tuple[Path, ...] = ()
    """Resolved files and folders of the control plane, refused even inside a root."""

    confine_sql: bool = True
    """Whether a DuckDB source's model SQL runs in DuckDB's sandbox of the roots."""

    def allows(self, path: str | os.PathLike[str]) -> bool:
        """Whether ``path``, resolved, lies inside a root and outside every protected path."""
        resolved = resolve(path)
        if any(_inside(resolved, guarded) for guarded in self.protected):
            return False
        return any(_inside(resolved, root) for root in self.roots)

    def problem(
        self, location: str, path: str | os.PathLike[str], *, named: str = "the path"
    ) -> Problem | None:
        """The problem of a configured ``path`` at ``location``; None when it is allowed.

        ``named`` says what the path is in the message, e.g. the file a URL names.
        """
        if self.allows(path):
            return None
        resolved = resolve(path)
        roots = os.pathsep.join(str(root) for root in self.roots)
        message = (
            f"{named} {str(path)!r} (resolved: {str(resolved)!r}) is outside the folders "
            f"file-based connectors may use ({roots})"
        )
        fix = (
            f"put the file inside an allowed folder, or ask the operator to add its folder "
            f"to {SETTING}"
        )
        if any(_inside(resolved, guarded) for guarded in self.protected):
            message = f"{named} {str(path)!r} is Syncline's own key, catalog or snapshot file"
            # No root opens these: they hold every workspace's secrets and records.
            fix = f"name a file of your own: no folder in {SETTING} opens Syncline's own files"
        return Problem(location, message, fix=fix, value=str(path))


def file_policy(settings: Settings) -> FilePolicy:
    """The policy of ``settings``: its roots, else ``SYNCLINE_HOME/files``, made on demand."""
    roots = tuple(settings.file_roots)
    if not roots:
        default = settings.home / DEFAULT_FOLDER
        default.mkdir(parents=True, exist_ok=True)
        roots = (default,)
    return FilePolicy(tuple(resolve(root) for root in roots), protected_paths(settings))


def run_file_policy(settings: Settings, *, shared: bool) -> FilePolicy:
    """The policy a run applies: the roots, unless only the operator configures this catalog.

    ``shared`` says whether anyone but the operator can write configurations: the
    catalog holds an API key or a web user (see :func:`catalog_is_shared`). Then, or
    when ``SYNCLINE_FILE_ROOTS`` is set, every run keeps its files and its DuckDB model
    SQL inside the roots. Otherwise every configuration came from the operator (the
    command line, YAML projects), so a run may use any path but the control plane's
    own files, and projects keep working where their files are.
    """
    if shared:
        return file_policy(settings)
    return operator_file_policy(settings)


def operator_file_policy(settings: Settings) -> FilePolicy:
    """The policy of what only the operator configured (YAML projects, the command line).

    The roots when ``SYNCLINE_FILE_ROOTS`` is set; else any path but the control
    plane's own files, and model SQL runs without DuckDB's sandbox.
    """
    if settings.file_roots:
        return file_policy(settings)
    return FilePolicy((Path(os.sep),), protected_paths(settings), confine_sql=False)


def catalog_is_shared(orm: Session) -> bool:
    """Whether someone besides the operator may configure: an API key or web user exists.

    Revoked keys count too: what their holders stored is still in the catalog.
    """
    from syncline.catalog.tables import ApiKeyRecord, UserRecord

    for table in (ApiKeyRecord, UserRecord):
        if orm.execute(select(table.id).limit(1)).first() is not None:
            return True
    return False


def protected_paths(settings: Settings) -> tuple[Path, ...]:
    """The control plane's own files: key, catalog database (and its journals), snapshots."""
    home = resolve(settings.home)
    paths = [home / "secret.key", home / "syncline.db", resolve(settings.snapshot_dir)]
    catalog_file = sqlite_catalog_file(settings)
    if catalog_file is not None:
        paths.append(catalog_file)
    journals = [p.with_name(p.name + suffix) for p in paths for suffix in ("-wal", "-shm")]
    return tuple(paths + journals)


def sqlite_catalog_file(settings: Settings) -> Path | None:
    """The catalog's SQLite file when the control plane is one; None for a server."""
    url = settings.catalog_url
    for prefix in ("sqlite:///", "sqlite+pysqlite:///"):
        if url.startswith(prefix):
            return resolve(url[len(prefix) :].split("?", 1)[0])
    return None


def root_problems(roots: Iterable[Path], settings_home: Path, catalog: Path | None) -> list[str]:
    """Why configured roots are unsafe: a root may not be or hold the control plane's files."""
    problems = []
    home = resolve(settings_home)
    for root in roots:
        resolved = resolve(root)
        guarded = [home] + ([catalog] if catalog is not None else [])
        if any(_inside(path, resolved) for path in guarded):
            problems.append(
                f"{SETTING} folder {str(root)!r} holds SYNCLINE_HOME or the catalog, whose key "
                f"and database must stay out of reach; name a folder such as "
                f"{str(home / DEFAULT_FOLDER)!r} instead"
            )
        elif _inside(resolved, home / "snapshots"):
            problems.append(
                f"{SETTING} folder {str(root)!r} is inside the snapshot folder, which only "
                f"Syncline may write; name a folder such as {str(home / DEFAULT_FOLDER)!r}"
            )
    return problems


BUILT_IN_FILE_FIELDS: dict[str, tuple[str, ...]] = {
    "syncline.connectors.sources.duckdb.config.DuckDBConfig": ("path",),
    "syncline.connectors.sources.sqlite.config.SQLiteConfig": ("path",),
    "syncline.connectors.destinations.duckdb.config.DuckDBDestinationConfig": ("path",),
    "syncline.connectors.destinations.sqlite.config.SQLiteDestinationConfig": ("path",),
    "syncline.connectors.destinations.files.spec.FileConfig": ("directory",),
}
"""Configuration keys of the built-in connectors that name a server file or folder.

A third-party connector declares its own as ``file_fields`` on its config model."""

BUILT_IN_URL_FIELDS: dict[str, tuple[str, ...]] = {
    "syncline.connectors.sources.sqlalchemy.config.SQLAlchemyConfig": ("url",),
}
"""Configuration keys of the built-in connectors that hold a SQLAlchemy database URL.

The SQLite or DuckDB file such a URL names is held to the roots like a path; a
third-party connector declares its own as ``database_url_fields`` on its config model."""


def file_fields(config_model: Any) -> tuple[str, ...]:
    """The keys of ``config_model``'s configurations that name server files or folders."""
    return _fields(config_model, BUILT_IN_FILE_FIELDS, "file_fields")


def database_url_fields(config_model: Any) -> tuple[str, ...]:
    """The keys of ``config_model``'s configurations that hold SQLAlchemy database URLs."""
    return _fields(config_model, BUILT_IN_URL_FIELDS, "database_url_fields")


def _fields(
    config_model: Any, built_in: Mapping[str, tuple[str, ...]], attribute: str
) -> tuple[str, ...]:
    declared: tuple[str, ...] = tuple(getattr(config_model, attribute, ()))
    for cls in getattr(config_model, "__mro__", ()):
        found = built_in.get(f"{cls.__module__}.{cls.__qualname__}")
        if found is not None:
            return found + declared
    return declared


def path_problems(
    config_model: Any, configuration: Mapping[str, Any], policy: FilePolicy
) -> list[Problem]:
    """A problem for each of a configuration's file fields that names a path off the roots.

    A database URL's file counts as a path. The problem names the file, never the URL,
    which may hold a password.
    """
    problems = []
    for name in file_fields(config_model):
        value = configuration.get(name)
        if isinstance(value, str | os.PathLike) and str(value) != "":
            found = policy.problem(f"configuration.{name}", value)
            if found is not None:
                problems.append(found)
    for name in database_url_fields(config_model):
        path = _url_file(configuration.get(name))
        if path is not None:
            found = policy.problem(f"configuration.{name}", path, named="the file the URL names")
            if found is not None:
                problems.append(found)
    return problems


def _url_file(value: Any) -> str | None:
    """The server file a configured database URL opens; None when it names none."""
    from syncline.connectors.sources.sqlalchemy.server_file import server_file

    return server_file(value) if isinstance(value, str) and value != "" else None


def check_paths(config_model: Any, configuration: Mapping[str, Any], policy: FilePolicy) -> None:
    """Raise :class:`ValidationError` when a file field of ``configuration`` is off the roots."""
    problems = path_problems(config_model, configuration, policy)
    if problems:
        raise ValidationError(problems)


def resolve(path: str | os.PathLike[str]) -> Path:
    """``path`` made absolute against the working directory, ``..`` and symlinks resolved."""
    return Path(os.path.realpath(os.fspath(path)))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def confined_source(type_name: str, configuration: Mapping[str, Any], policy: FilePolicy) -> Any:
    """A source built from a stored configuration, its files and model SQL kept in the roots.

    Raises:
        ValidationError: a file field names a path off the roots (or a bad configuration).
    """
    from syncline.connectors import registry

    cls = registry.source_class(type_name)
    check_paths(cls.config_model, configuration, policy)
    source = cls.from_config(dict(configuration))
    if policy.confine_sql:
        source.confine_files(policy.roots)
    return source


def confined_destination(
    type_name: str, configuration: Mapping[str, Any], policy: FilePolicy
) -> Any:
    """A destination built from a stored configuration whose file fields lie in the roots.

    Raises:
        ValidationError: a file field names a path off the roots (or a bad configuration).
    """
    from syncline.connectors import registry

    cls = registry.destination_class(type_name)
    check_paths(cls.config_model, configuration, policy)
    return cls.from_config(dict(configuration))
