"""Load a project folder of YAML files and validate it whole, reporting every problem at once.

Every ``*.yml``/``*.yaml`` file under the folder (hidden folders skipped) may declare the
lists ``sources``, ``models``, ``destinations``, ``syncs`` and ``sequences``;
``syncline.yml`` at the top may also hold project settings (``workspace``). Resources
refer to each other by slug. ``${SYNCLINE_PROJECT_DIR}`` is the project folder unless
the environment sets it.
"""

from __future__ import annotations

import difflib
import errno
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncline.alerts.policy import AlertPolicy
from syncline.catalog.repository import check_slug
from syncline.connectors import registry
from syncline.connectors.destinations.base import RESERVED_FIELD_FIX, SyncMode
from syncline.engine.config import SyncConfiguration
from syncline.engine.config_problems import MAPPING_TYPES
from syncline.errors import ConfigError, ConnectorError, Problem, UserError, ValidationError
from syncline.numerals import number_or_text
from syncline.project.concealed import conceal
from syncline.project.file_roots import roots_problems
from syncline.project.local_objects import missing_table
from syncline.project.model_columns import (
    local_columns,
    primary_key_problem,
    repeated_columns_problem,
)
from syncline.project.schedule import check_schedule
from syncline.project.sequences import build_sequence, check_references
from syncline.project.spec import (
    ConnectionSpec,
    ModelSpec,
    Origin,
    Project,
    SequenceSpec,
    SyncSpec,
)
from syncline.project.sync_checks import (
    column_problems,
    field_name_problems_of,
    id_field_problems,
    mode_refused,
    reserved_field_message,
    salvage,
    template_problems,
    with_standard_mappings,
)
from syncline.project.workspace import SETTINGS_FILES, project_variables
from syncline.project.yamlfile import Document, Path_, read_document, render_path
from syncline.settings import get_settings

logger = logging.getLogger(__name__)

KINDS = ("sources", "models", "destinations", "syncs", "sequences")
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")


@dataclass(frozen=True)
class _Shape:
    required: tuple[str, ...]
    optional: tuple[str, ...]


_SHAPES = {
    "sources": _Shape(("slug", "type", "configuration"), ("name",)),
    "destinations": _Shape(("slug", "type", "configuration"), ("name", "alerts")),
    "models": _Shape(
        ("slug", "source", "primaryKey"), ("name", "raw", "table", "description", "tags")
    ),
    "syncs": _Shape(
        ("slug", "model", "destination", "configuration"),
        ("schedule", "disabled", "tags", "alerts"),
    ),
    "sequences": _Shape(("slug", "steps"), ("name", "schedule", "disabled")),
}


def project_files(root: Path) -> tuple[list[Path], list[Problem]]:
    """Every YAML file of the project, in a stable order, hidden folders skipped, and a
    problem for each YAML link or folder that cannot be read (a link that loops or leads
    nowhere, a folder without permission), which would otherwise go unseen."""
    files: list[Path] = []
    problems: list[Problem] = []

    def unreadable(error: OSError) -> None:
        folder = Path(error.filename or root)
        fix = "let Syncline's user read the folder, or move its files elsewhere"
        problems.append(_path_problem(root, folder, "folder", error, fix))

    for folder, folders, names in os.walk(root, onerror=unreadable):
        folders[:] = [name for name in folders if not name.startswith(".")]
        for name in names:
            path = Path(folder) / name
            if name.startswith(".") or path.suffix not in (".yml", ".yaml"):
                continue
            if path.is_file():
                files.append(path)
            elif path.is_symlink():
                fix = "point the link at a YAML file, or remove it"
                problems.append(_path_problem(root, path, "link", _stat_error(path), fix))
    return sorted(files), problems


def _stat_error(path: Path) -> OSError:
    """Why ``path`` cannot be followed to a file."""
    try:
        path.stat()
    except OSError as exc:
        return exc
    return IsADirectoryError(errno.EISDIR, "it leads to a folder")


def _path_problem(root: Path, path: Path, what: str, error: OSError, fix: str) -> Problem:
    reason = error.strerror or str(error)
    display = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    return Problem("", f"the {what} {display!r} cannot be read: {reason}", fix, display)


def load_project(root: Path, env: Mapping[str, str] | None = None) -> Project:
    """Read and validate the project in ``root``.

    Raises:
        ConfigError: the folder does not exist or holds no YAML file.
        ValidationError: with every problem found, each with its file, line and fix.
    """
    if not root.is_dir():
        raise ConfigError(f"project folder {str(root)!r} does not exist; run `syncline init`")
    files, unreadable = project_files(root)
    if not files and not unreadable:
        raise ConfigError(f"project folder {str(root)!r} has no .yml files; run `syncline init`")

    variables = project_variables(root, env)

    loader = _Loader(Project(root=str(root.resolve())))
    loader.problems.extend(unreadable)
    for path in files:
        display = str(path.relative_to(root))
        document, problems = read_document(path, display=display, env=variables)
        loader.problems.extend(problems)
        loader.files[display] = document
        loader.read(document, is_settings=display in SETTINGS_FILES)

    loader.cross_check()
    loader.project.warnings = conceal(loader.project.warnings, loader.files)
    if loader.problems:
        raise ValidationError(conceal(loader.problems, loader.files))

    logger.info(
        "project %s: %d sources, %d models, %d destinations, %d syncs",
        root,
        len(loader.project.sources),
        len(loader.project.models),
        len(loader.project.destinations),
        len(loader.project.syncs),
    )
    return loader.project


class _Loader:
    """Collects resources and problems across the files of one project."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.problems: list[Problem] = []
        self.files: dict[str, Document] = {}
        """Every file read, by the name problems give it."""
        self.documents: dict[tuple[str, str], tuple[Document, Path_]] = {}
        self.sync_targets: dict[str, tuple[str, dict[str, Any]]] = {}
        """Each sync's destination slug and raw configuration, built or not, so that the
        checks against its destination run even when the sync has other problems."""
        self.salvaged_syncs: dict[str, tuple[str, Origin, SyncConfiguration]] = {}
        """The model slug, origin and checkable part of each sync not built for problems
        of its own, so that its mappings are still checked against the model's columns."""
        self.broken: set[tuple[str, str]] = set()
        """Resources declared with problems of their own; references to them are not
        reported again as undeclared."""

    def problem(self, doc: Document, path: Path_, message: str, fix: str | None = None) -> None:
        """Record one problem at ``path`` of ``doc``."""
        line = doc.line(path)
        self.problems.append(Problem(render_path(path), message, fix, doc.file, line))

    def read(self, doc: Document, *, is_settings: bool) -> None:
        """Take the resources (and settings) of one document."""
        if doc.data is None:
            return
        if not isinstance(doc.data, dict):
            self.problem(doc, (), "the file must be a mapping", f"use top-level keys {KINDS}")
            return

        allowed = KINDS + (("workspace",) if is_settings else ())
        for key in doc.data:
            if key not in allowed:
                self.problem(doc, (key,), f"unknown top-level key {key!r}", _suggest(key, allowed))

        if is_settings and "workspace" in doc.data:
            self._read_workspace(doc, doc.data["workspace"])

        for kind in KINDS:
            items = doc.data.get(kind)
            if items is None:
                continue
            if not isinstance(items, list):
                self.problem(doc, (kind,), f"{kind!r} must be a list", f"write {kind}: [...]")
                continue
            for index, item in enumerate(items):
                self._read_item(doc, kind, (kind, index), item)

    def _read_workspace(self, doc: Document, workspace: Any) -> None:
        if any(p.file == doc.file and p.location == "workspace" for p in self.problems):
            return  # a ${VAR} reference in it is unclosed or unset: said once is enough
        if isinstance(workspace, int | float) and not isinstance(workspace, bool):
            message = f"the workspace must be a name; YAML reads {workspace} as a number"
            fix = f'quote it, as written in the file: e.g. workspace: "{workspace}"'
            self.problem(doc, ("workspace",), message, fix)
            return
        if not isinstance(workspace, str) or not workspace.strip():
            self.problem(doc, ("workspace",), "the workspace must be a name", "e.g. default")
            return
        # The catalog's rule, so that apply cannot refuse a name validate accepted.
        found: list[Problem] = []
        check_slug(workspace.strip(), found, workspace=True)
        for problem in found:
            message = f"the workspace {workspace.strip()!r} is not a valid workspace slug"
            self.problem(doc, ("workspace",), message, problem.fix)
        if not found:
            self.project.workspace = workspace.strip()

    def _read_item(self, doc: Document, kind: str, path: Path_, item: Any) -> None:
        if not isinstance(item, dict):
            self.problem(doc, path, f"each entry of {kind!r} must be a mapping")
            return

        shape = _SHAPES[kind]
        known = shape.required + shape.optional
        complete = True
        for key in item:
            if key not in known:
                fix = _unknown_key_fix(key, item[key], known)
                self.problem(doc, (*path, key), f"unknown key {key!r}", fix)
        for key in shape.required:
            if key not in item:
                self.problem(doc, path, f"the required key {key!r} is missing", f"add {key}: ...")
                complete = False

        slug = item.get("slug")
        if "slug" in item and not isinstance(slug, str):
            kind_of = type(slug).__name__ if slug is not None else "empty"
            message = f"the slug must be text, not {kind_of} ({slug!r})"
            self.problem(doc, (*path, "slug"), message, f'put it in quotes: slug: "{slug}"')
            return
        if "slug" in item and not SLUG.fullmatch(str(slug)):
            fix = "use lower-case letters, digits, '-' and '_', starting with a letter or digit"
            self.problem(doc, (*path, "slug"), f"invalid slug {slug!r}", fix)
            self.broken.add((kind, str(slug)))
            return
        if not isinstance(slug, str):
            return

        repeated = (kind, slug) in self.documents
        if repeated:
            other, other_path = self.documents[(kind, slug)]
            where = f"{other.file}:{other.line(other_path)}"
            message = f"the {kind[:-1]} slug {slug!r} is also declared at {where}"
            self.problem(doc, (*path, "slug"), message, "give each one its own slug")
        else:
            self.documents[(kind, slug)] = (doc, path)
        if not complete:
            if not repeated:
                self.broken.add((kind, slug))
            return

        # Unknown keys are reported above; the rest is still checked, so that one pass
        # finds every problem. A second declaration of a slug is checked the same way,
        # but never kept.
        known_only = {key: value for key, value in item.items() if key in known}
        builder = getattr(self, f"_build_{kind}")
        spec = builder(doc, path, known_only, Origin(doc.file, doc.line(path), path, doc))
        if spec is not None and not repeated:
            getattr(self.project, kind)[slug] = spec

    def _build_sources(
        self, doc: Document, path: Path_, item: dict[str, Any], origin: Origin
    ) -> ConnectionSpec | None:
        return self._connection(doc, path, item, origin, registry.source_class)

    def _build_destinations(
        self, doc: Document, path: Path_, item: dict[str, Any], origin: Origin
    ) -> ConnectionSpec | None:
        return self._connection(doc, path, item, origin, registry.destination_class)

    def _connection(
        self, doc: Document, path: Path_, item: dict[str, Any], origin: Origin, lookup: Any
    ) -> ConnectionSpec | None:
        configuration = item["configuration"]
        if configuration is None:
            configuration = {}
        if not isinstance(configuration, dict):
            self.problem(doc, (*path, "configuration"), "the configuration must be a mapping")
            return None

        kind = item["type"]
        try:
            cls = lookup(str(kind))
        except ConfigError as exc:
            self.problem(doc, (*path, "type"), exc.message, "use one of the known types")
            return None
        except (ImportError, AttributeError) as exc:
            message = f"the connector type {kind!r} cannot be loaded ({exc})"
            self.problem(doc, (*path, "type"), message, "install the package that provides it")
            return None

        self._check_model(doc, (*path, "configuration"), cls.config_model, configuration)
        alerts = self._alerts(doc, path, item)
        name = item.get("name") or item["slug"]
        # The type is kept as written (an alias such as mariadb included), so people
        # see their own word back.
        written = str(kind).strip().lower()
        return ConnectionSpec(item["slug"], str(name), written, configuration, origin, alerts)

    def _build_models(
        self, doc: Document, path: Path_, item: dict[str, Any], origin: Origin
    ) -> ModelSpec | None:
        sql = _nested_string(item.get("raw"), "sql")
        table = _nested_string(item.get("table"), "name")
        query_ok = self._check_query(doc, path, item, sql, table)
        primary_key = item["primaryKey"]
        key_ok = self._check_primary_key(doc, path, primary_key)
        if not (query_ok and key_ok):
            return None

        tags = self._tags(doc, path, item)
        description = item.get("description") or ""
        name = str(item.get("name") or item["slug"])
        return ModelSpec(
            item["slug"], name, str(item["source"]), primary_key, sql, table, str(description),
            tags, origin,
        )  # fmt: skip

    def _check_query(
        self, doc: Document, path: Path_, item: dict[str, Any], sql: str | None, table: str | None
    ) -> bool:
        """Whether the model has exactly one well-formed ``raw`` or ``table``."""
        if ("raw" in item) == ("table" in item):
            fix = "write either raw: {sql: ...} or table: {name: ...}"
            self.problem(doc, path, "a model needs exactly one of 'raw' and 'table'", fix)
            return False
        if "raw" in item and sql is None:
            message, fix = _nested_problem("raw", item["raw"], "sql", "SELECT a, b FROM t")
            self.problem(doc, (*path, "raw"), message, fix)
            return False
        if "table" in item and table is None:
            message, fix = _nested_problem("table", item["table"], "name", "people")
            self.problem(doc, (*path, "table"), message, fix)
            return False
        return True

    def _check_primary_key(self, doc: Document, path: Path_, primary_key: Any) -> bool:
        """Whether the primary key names one column."""
        if isinstance(primary_key, list):
            message = "the primary key must be one column, not a list of columns"
            fix = (
                "name one column that is unique per row; for a key of several columns, "
                "return them joined as one column from the query (e.g. a || '-' || b AS key)"
            )
            self.problem(doc, (*path, "primaryKey"), message, fix)
            return False
        if not isinstance(primary_key, str) or not primary_key.strip():
            message = "the primary key must be the name of a column of the model"
            self.problem(doc, (*path, "primaryKey"), message, "e.g. primaryKey: id")
            return False
        return True

    def _build_syncs(
        self, doc: Document, path: Path_, item: dict[str, Any], origin: Origin
    ) -> SyncSpec | None:
        configuration = item["configuration"]
        if not isinstance(configuration, dict):
            self.problem(doc, (*path, "configuration"), "the configuration must be a mapping")
            return None
        configuration = with_standard_mappings(configuration)
        kept_doc, kept_path = self.documents[("syncs", item["slug"])]
        if kept_doc is doc and kept_path == path:
            # Only the declaration kept is checked against its destination.
            self.sync_targets[str(item["slug"])] = (str(item["destination"]), configuration)
        parsed = self._check_model(doc, (*path, "configuration"), SyncConfiguration, configuration)

        schedule, problems = check_schedule(item.get("schedule"))
        for sub, message, fix in problems:
            self.problem(doc, (*path, "schedule", *sub), message, fix)

        disabled = item.get("disabled", False)
        if not isinstance(disabled, bool):
            self.problem(doc, (*path, "disabled"), "'disabled' must be true or false")

        tags = self._tags(doc, path, item)
        alerts = self._alerts(doc, path, item)
        # A bad key (say the mode) says nothing of the mappings: check what still parses.
        checkable = parsed if parsed is not None else salvage(configuration)
        if checkable is not None:
            self._check_templates(doc, (*path, "configuration"), checkable)
        if parsed is None or problems or not isinstance(disabled, bool):
            if checkable is not None and kept_doc is doc and kept_path == path:
                self.salvaged_syncs[str(item["slug"])] = (str(item["model"]), origin, checkable)
            return None
        return SyncSpec(
            item["slug"], str(item["model"]), str(item["destination"]), parsed.dump(),
            schedule, disabled, tags, origin, alerts,
        )  # fmt: skip

    def _alerts(self, doc: Document, path: Path_, item: dict[str, Any]) -> dict[str, Any] | None:
        """The validated alert policy of a destination or sync, as plain values."""
        if item.get("alerts") is None:
            return None
        policy = self._check_model(doc, (*path, "alerts"), AlertPolicy, item["alerts"])
        return policy.dump() if policy is not None else None

    def _build_sequences(
        self, doc: Document, path: Path_, item: dict[str, Any], origin: Origin
    ) -> SequenceSpec | None:
        return build_sequence(item, origin, self._reporter(doc, path))

    def _reporter(self, doc: Document, path: Path_) -> Any:
        def report(sub: Path_, message: str, fix: str | None) -> None:
            self.problem(doc, (*path, *sub), message, fix)

        return report

    def _check_templates(self, doc: Document, path: Path_, parsed: SyncConfiguration) -> None:
        # The engine renders templates in a Jinja2 sandbox; a syntax error found here
        # gets its file and line instead of failing apply or the run.
        for problem in template_problems(parsed):
            below = problem.location.split(".")[1:]  # the location starts at "configuration"
            sub = tuple(number_or_text(p) for p in below)
            self.problem(doc, (*path, *sub), problem.message, problem.fix)

    def _tags(self, doc: Document, path: Path_, item: dict[str, Any]) -> dict[str, str]:
        tags = item.get("tags") or {}
        if not isinstance(tags, dict):
            self.problem(doc, (*path, "tags"), "tags must be a mapping", "e.g. tags: {team: ops}")
            return {}
        return {str(k): str(v) for k, v in tags.items()}

    def _check_model(self, doc: Document, path: Path_, model: Any, raw: dict[str, Any]) -> Any:
        """Validate ``raw`` with a pydantic model that has ``parse(raw, where=...)``."""
        where = render_path(path)
        try:
            return model.parse(raw, where=where)
        except ValidationError as exc:
            keys = [info.alias or name for name, info in model.model_fields.items()]
            for problem in exc.problems:
                below = problem.location[len(where) :].lstrip(".")
                sub = _without_mapping_type(tuple(number_or_text(p) for p in below.split(".") if p))
                message = _plain_message(problem.message)
                fix = problem.fix or _config_fix(message)
                if "Extra inputs" in message and sub:
                    message = f"unknown key {sub[-1]!r}"
                    fix = _suggest(str(sub[-1]), keys) if len(sub) == 1 else "remove this key"
                self.problem(doc, (*path, *sub), message, fix)
            return None

    def cross_check(self) -> None:
        """Check references between resources, and each sync's mode against its destination."""
        for (kind, slug), (doc, path) in self.documents.items():
            item = doc.data
            for part in path:
                item = item[part]
            references = {"models": ("source",), "syncs": ("model", "destination")}
            for field in references.get(kind, ()):
                target = f"{field}s"
                # A missing reference is already reported as a missing key.
                if field in item and str(item[field]) not in self._declared(target):
                    self._dangling(kind, slug, field, str(item[field]), target)
            if kind == "sequences":
                check_references(item, set(self._declared("syncs")), self._reporter(doc, path))

        project = self.project
        writers: dict[tuple[str, ...], list[tuple[str, str, str]]] = {}
        for slug, (destination_slug, raw) in self.sync_targets.items():
            destination = project.destinations.get(destination_slug)
            if destination is None or ("syncs", slug) not in self.documents:
                continue
            cls = registry.destination_class(destination.type)
            modes = sorted(str(m) for m in cls.capabilities.modes)
            doc, path = self.documents[("syncs", slug)]
            mode = raw.get("mode", str(SyncMode.UPSERT))
            # A mode that is no mode at all was reported with the configuration.
            if mode in {str(m) for m in SyncMode} and mode not in modes:
                message = (
                    f"the destination {destination.slug!r} ({destination.type}) does not "
                    f"support mode {mode!r}"
                )
                self.problem(doc, (*path, "configuration", "mode"), message, f"use {modes}")
            object_name = raw.get("object")
            if not isinstance(object_name, str):
                continue
            if self._check_object(cls, doc, (*path, "configuration", "object"), object_name):
                refused = mode_refused(cls, mode, object_name) if mode in modes else None
                if refused is not None:
                    self.problem(doc, (*path, "configuration", "mode"), *refused)
            reserved = reserved_field_message(cls, raw, None)
            if reserved is not None:
                where = (*path, "configuration", "mappings")
                self.problem(doc, where, reserved, RESERVED_FIELD_FIX)
            for problem in field_name_problems_of(cls, raw):
                sub = tuple(number_or_text(p) for p in problem.location.split("."))
                self.problem(doc, (*path, *sub), problem.message, problem.fix)
            key = cls.shared_object_key(destination.slug, destination.configuration, object_name)
            if slug in project.syncs and key is not None:
                writers.setdefault(key, []).append((slug, destination.slug, object_name))
        self._warn_shared_objects(writers)
        self._warn_unheard_alerts()
        self._check_id_fields()
        self._check_local_tables()
        self._check_model_columns()
        self._check_file_roots()

    def _check_file_roots(self) -> None:
        """Refuse file paths off ``SYNCLINE_FILE_ROOTS``, which runs keep to when it is
        set (see :func:`roots_problems`)."""
        try:
            settings = get_settings()
        except ConfigError:
            return  # the settings are reported by the commands that need them
        self.problems.extend(roots_problems(self.project, settings))

    def _check_local_tables(self) -> None:
        """Refuse a sync that may not create its table when a local SQLite file shows the
        table is missing (see :func:`missing_table`)."""
        try:
            settings = get_settings()
        except ConfigError:
            return  # the settings are reported by the commands that need them
        for _, sync in sorted(self.project.syncs.items()):
            destination = self.project.destinations.get(sync.destination)
            if destination is None or sync.configuration.get("createObject", True):
                continue
            target = str(sync.configuration["object"])
            found = missing_table(
                destination.type, destination.configuration, target, settings,
                self.project.workspace,
            )  # fmt: skip
            if found is not None:
                where = sync.origin.at(("configuration", "createObject"))
                self.problems.append(Problem(where.location, *found, where.file, where.line))

    def _check_id_fields(self) -> None:
        """Refuse a mapping that writes the field identifying destination records (the
        external id, else the model's primary key) from anything but its column."""
        for _, sync in sorted(self.project.syncs.items()):
            model = self.project.models.get(sync.model)
            if model is None:
                continue
            parsed = SyncConfiguration.parse(sync.configuration)
            for problem in id_field_problems(parsed, model.primary_key):
                self.problems.append(sync.origin.below(problem))

    def _check_model_columns(self) -> None:
        """Check primary keys and mappings against the model's columns where a local file
        can tell them quickly (see :func:`local_columns`); apply asks every other source."""
        try:
            settings = get_settings()
        except ConfigError:
            return  # the settings are reported by the commands that need them
        columns: dict[str, list[str]] = {}
        for slug, model in sorted(self.project.models.items()):
            source = self.project.sources.get(model.source)
            if source is None:
                continue
            found = local_columns(
                source.type, source.configuration, model.sql, model.table, settings,
                self.project.workspace,
            )  # fmt: skip
            if found is None:
                continue
            doc, path = self.documents[("models", slug)]
            if found.names is None:
                # Apply takes such a model with this same warning (the query may work by
                # then), so validate does not refuse what apply would take.
                where = (*path, "raw" if model.sql is not None else "table")
                origin = Origin(doc.file, doc.line(where))
                warning = found.warning(slug, source.type, render_path(where), origin)
                self.project.warnings.append(warning)
                continue
            columns[slug] = found.names
            repeated = repeated_columns_problem(slug, found.names)
            if repeated is not None:
                where = (*path, "raw" if model.sql is not None else "table")
                self.problem(doc, where, *repeated)
            elif model.primary_key not in found.names:
                message, fix = primary_key_problem(slug, model.primary_key, found.names)
                self.problem(doc, (*path, "primaryKey"), message, fix)

        checked = {
            slug: (sync.model, sync.origin, SyncConfiguration.parse(sync.configuration))
            for slug, sync in self.project.syncs.items()
        }
        for _, (model_slug, origin, parsed) in sorted({**self.salvaged_syncs, **checked}.items()):
            if model_slug not in columns:
                continue
            for problem in column_problems(parsed, columns[model_slug], f"model {model_slug!r}"):
                self.problems.append(origin.below(problem))

    def _warn_unheard_alerts(self) -> None:
        """Warn about syncs with alerts declared but no recipient list anywhere.

        An explicit ``recipients: []`` is taken as meant (a sync kept quiet on purpose).
        """
        for slug, sync in sorted(self.project.syncs.items()):
            destination = self.project.destinations.get(sync.destination)
            default = destination.alerts if destination is not None else None
            if sync.alerts is None and default is None:
                continue
            declared = [p.get("recipients") for p in (sync.alerts, default) if p is not None]
            if any(recipients is not None for recipients in declared):
                continue
            key = ("syncs", slug) if sync.alerts is not None else ("destinations", sync.destination)
            doc, path = self.documents[key]
            message = f"the alerts of sync {slug!r} have no recipients, so nobody is told"
            fix = "add recipients under alerts on the sync or its destination"
            line = doc.line((*path, "alerts"))
            location = render_path((*path, "alerts"))
            self.project.warnings.append(Problem(location, message, fix, doc.file, line))

    def _check_object(self, cls: Any, doc: Document, path: Path_, target: str) -> bool:
        """Whether the destination accepts the object name (or cannot tell before a run)."""
        check = getattr(cls, "check_object", None)
        if not callable(check):
            return True
        try:
            check(target)
        except (UserError, ConnectorError) as exc:
            # Connector errors name the fix after a "; ".
            message, _, fix = " ".join(str(exc).split()).partition("; ")
            self.problem(doc, path, message, fix or "correct the object")
            return False
        return True

    def _warn_shared_objects(
        self, writers: dict[tuple[str, ...], list[tuple[str, str, str]]]
    ) -> None:
        """Warn of syncs that write one object, as its destination tells (see
        :meth:`~syncline.connectors.destinations.base.Destination.shared_object_key`)."""
        for key, written in sorted(writers.items()):
            if len(written) < 2:
                continue
            slugs = [slug for slug, _, _ in written]
            _, destination, target = written[0]
            if {(d, t) for _, d, t in written} == {(destination, target)}:
                what = f"{target!r} of the destination {destination!r}"
            else:
                places = ", ".join(f"{t!r} of {d!r}" for _, d, t in written)
                what = f"{key[-1]!r} ({places})"
            doc, path = self.documents[("syncs", slugs[1])]
            others = ", ".join(repr(s) for s in slugs if s != slugs[1])
            message = (
                f"the syncs {', '.join(repr(s) for s in slugs)} all write {what}; each may "
                "overwrite or remove the other's rows"
            )
            fix = f"write another object, or merge this sync with {others}"
            line = doc.line((*path, "configuration", "object"))
            location = render_path((*path, "configuration", "object"))
            self.project.warnings.append(Problem(location, message, fix, doc.file, line))

    def _declared(self, kind: str) -> list[str]:
        return sorted(slug for k, slug in self.documents if k == kind)

    def _dangling(self, kind: str, slug: str, field: str, value: str, target: str) -> None:
        if (target, value) in self.broken:
            return
        doc, path = self.documents[(kind, slug)]
        declared = self._declared(target)
        names = ", ".join(declared) or "none"
        message = f"the {field} {value!r} is not declared in the project (declared: {names})"
        fix = _suggest(value, declared) if declared else f"declare it under {target}"
        self.problem(doc, (*path, field), message, fix)


def _unknown_key_fix(key: str, value: Any, known: tuple[str, ...]) -> str:
    """The fix for an unknown key of a resource: its closest known key, but never
    ``disabled`` for ``enabled``, whose meaning it turns around."""
    if key == "enabled" and "disabled" in known:
        if isinstance(value, bool):
            return f"write disabled: {str(not value).lower()}"
        return "write disabled: false to run the sync on its schedule, or disabled: true"
    return _suggest(key, known)


def _without_mapping_type(sub: Path_) -> Path_:
    """``sub`` without the mapping type pydantic puts after a mapping's index
    (``mappings.0.standard.to``), which is not a key anyone wrote."""
    if len(sub) >= 3 and sub[0] == "mappings" and sub[2] in MAPPING_TYPES:
        return (*sub[:2], *sub[3:])
    return sub


def _suggest(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"use one of: {', '.join(choices)}" if choices else "remove it"


def _plain_message(message: str) -> str:
    # pydantic prefixes messages of custom validators with the error kind.
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.replace(prefix, "")
    return message


def _config_fix(message: str) -> str:
    if "Field required" in message:
        return "add this setting"
    return "correct this value"


def _nested_string(value: Any, key: str) -> str | None:
    if isinstance(value, dict) and set(value) == {key} and isinstance(value[key], str):
        return value[key] if value[key].strip() else None
    return None


def _nested_problem(name: str, value: Any, key: str, example: str) -> tuple[str, str]:
    """What is wrong with ``name``, which must be ``{key: <text>}``, and how to fix it.

    The likeliest mistake is a flow mapping whose text has commas: YAML reads
    ``{sql: SELECT a, b FROM t}`` as the keys ``sql`` and ``b FROM t``.
    """
    shape = f"'{name}' must be {{{key}: <text>}}"
    written = f'write {name}: {{{key}: "{example}"}}'
    if not isinstance(value, dict):
        return f"{shape}, not a {type(value).__name__}", written
    extra = sorted(str(other)[:40] for other in value if other != key)
    if key in value and extra:
        message = f"{shape}, but it also has the keys {', '.join(map(repr, extra))}"
        fix = (
            f"in a flow mapping ({name}: {{{key}: ...}}) YAML reads every comma as the start "
            f'of another key: quote the text ({name}: {{{key}: "{example}"}}) or write it '
            f"as a block ({name}: then {key}: {example} on the next line, indented)"
        )
        return message, fix
    if key not in value:
        found = ", ".join(map(repr, extra)) or "no keys"
        return f"{shape}; it has {found}", written
    return f"'{name}.{key}' must be non-empty text", written
