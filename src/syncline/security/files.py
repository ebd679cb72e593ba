"""Where file-based connectors may read and write: each workspace's file roots.

A DuckDB or SQLite source, a SQLAlchemy source whose URL names a SQLite or DuckDB file,
a DuckDB, SQLite or file destination, a MySQL source's certificate files, and the file
reads in a DuckDB model's SQL all touch the server's disk. Whoever holds an API key or
a web login can configure them, so without a limit any workspace could read
``SYNCLINE_HOME/secret.key`` (which opens every workspace's secrets), the catalog, or
another workspace's files.

``SYNCLINE_FILE_ROOTS`` names the folders these connectors may use; ``{workspace}`` in
a root stands for the workspace's slug, so each workspace gets a folder of its own.
When the setting is unset, each workspace may use ``SYNCLINE_HOME/files/<slug>``
(created on first use). Paths are resolved (relative to the working directory, ``..``
and symlinks followed) before the check, and the key file, the catalog database and
the snapshot folder are refused even inside a root. The DuckDB source carries its
workspace's roots into DuckDB's own sandbox, so model SQL cannot leave them either,
and a file destination checks each file it opens, so a symlink in a root leads nowhere
outside it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from syncline.errors import Problem, ValidationError
from syncline.security.private import private_folder
from syncline.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

SETTING = "SYNCLINE_FILE_ROOTS"
"""The environment variable naming the allowed folders, ``os.pathsep``-separated."""

DEFAULT_FOLDER = "files"
"""The folder inside ``SYNCLINE_HOME`` that holds each workspace's default root."""

WORKSPACE = "{workspace}"
"""The placeholder in a root that stands for the workspace's slug."""


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

    def refusal(self, path: Path) -> str | None:
        """Why a file a connector is about to open may not be used; None when it may.

        The check of a configured folder cannot see what lies inside it, so a symlink
        there is caught only when its file is opened: the message names that file.
        """
        found = self.problem("file", path, named="the file")
        return None if found is None else f"{found.message}; {found.fix}"


def workspace_roots(settings: Settings, workspace: str) -> tuple[Path, ...]:
    """The roots of ``workspace``: the configured ones (else ``home/files/{workspace}``),
    with ``{workspace}`` replaced by its slug."""
    configured = settings.file_roots or (settings.home / DEFAULT_FOLDER / WORKSPACE,)
    # The catalog's slug rule (no separator, a letter or digit first) keeps the
    # replaced root one folder below the template's; checked again, as it guards files.
    if not workspace[:1].isalnum() or "/" in workspace or os.sep in workspace:
        raise ValueError(f"workspace slug {workspace!r} cannot name a folder")
    return tuple(Path(str(root).replace(WORKSPACE, workspace)) for root in configured)


def file_policy(settings: Settings, workspace: str) -> FilePolicy:
    """The policy of ``workspace`` under ``settings``; the default root is made on demand."""
    roots = workspace_roots(settings, workspace)
    if not settings.file_roots:
        private_folder(settings.home / DEFAULT_FOLDER)
        private_folder(roots[0])
    return FilePolicy(tuple(resolve(root) for root in roots), protected_paths(settings))


def run_file_policy(settings: Settings, workspace: str, *, shared: bool) -> FilePolicy:
    """The policy a run of ``workspace`` applies: its roots, unless only the operator
    configures this catalog.

    ``shared`` says whether anyone but the operator can write configurations: the
    catalog holds an API key or a web user (see :func:`catalog_is_shared`). Then, or
    when ``SYNCLINE_FILE_ROOTS`` is set, every run keeps its files and its DuckDB model
    SQL inside its workspace's roots. Otherwise every configuration came from the
    operator (the command line, YAML projects), so a run may use any path but the
    control plane's own files, and projects keep working where their files are.
    """
    if shared:
        return file_policy(settings, workspace)
    return operator_file_policy(settings, workspace)


def operator_file_policy(settings: Settings, workspace: str) -> FilePolicy:
    """The policy of what only the operator configured (YAML projects, the command line).

    ``workspace``'s roots when ``SYNCLINE_FILE_ROOTS`` is set; else any path but the
    control plane's own files, and model SQL runs without DuckDB's sandbox.
    """
    if settings.file_roots:
        return file_policy(settings, workspace)
    return FilePolicy((Path(os.sep),), protected_paths(settings), confine_sql=False)


def shared_roots_warning(settings: Settings, workspaces: Sequence[str]) -> str | None:
    """Why the configured roots let workspaces reach each other's files; None when not.

    A root without ``{workspace}`` is the same folder for every workspace, which only
    matters once the catalog has more than one.
    """
    shared = [root for root in settings.file_roots if WORKSPACE not in str(root)]
    if len(workspaces) < 2 or not shared:
        return None
    folders = ", ".join(repr(str(root)) for root in shared)
    example = str(shared[0] / WORKSPACE)
    return (
        f"{SETTING} folder(s) {folders} have no {WORKSPACE}, so every workspace "
        f"({', '.join(workspaces)}) can read and overwrite every other's files under them; "
        f"add {WORKSPACE} to each, e.g. {example!r}, and move each workspace's files "
        f"into its own folder"
    )


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
    """Why configured roots are unsafe: a root may not be or hold the control plane's files.

    A root with ``{workspace}`` is checked by the folder its workspaces' roots share,
    since any slug may fill it in.
    """
    problems = []
    home = resolve(settings_home)
    for root in roots:
        text = str(root)
        if WORKSPACE in text:
            resolved = resolve(Path(text.split(WORKSPACE, 1)[0] + "x").parent)
        else:
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
    "syncline.connectors.sources.mysql.config.MySQLConfig": ("ssl_ca", "ssl_cert", "ssl_key"),
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
    """A destination built from a stored configuration whose file fields lie in the roots,
    and whose every file (a file destination's objects, say) is checked as it is opened.

    Raises:
        ValidationError: a file field names a path off the roots (or a bad configuration).
    """
    from syncline.connectors import registry

    cls = registry.destination_class(type_name)
    check_paths(cls.config_model, configuration, policy)
    destination = cls.from_config(dict(configuration))
    destination.guard_files(policy.refusal)
    return destination
