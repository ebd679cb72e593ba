"""Plan and apply a project against the catalog: one transaction, only managed resources deleted.

Which resources a project manages is kept in the catalog (``project_resources``): every
resource the project declared at its last apply. A resource made through the API with a
slug the project never declared is left alone.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import ColumnElement, delete, select

from syncline.alerts.store import read_policy, write_policy
from syncline.catalog import Catalog, CatalogSession, DestinationRecord, SourceRecord
from syncline.catalog.tables import ModelRecord, ProjectResourceRecord, SyncRecord
from syncline.connectors import registry
from syncline.engine.config import SyncConfiguration
from syncline.engine.mapping import referenced_columns
from syncline.engine.planner.store import delete_snapshot, note_strays, restart_snapshot
from syncline.engine.planner.warehouse import (
    forget_sync_state,
    restart_sync_state,
    warehouse_sources,
)
from syncline.errors import ConfigError, NotFoundError, Problem, SnapshotLocked, ValidationError
from syncline.project.concealed import conceal, conceal_notes, project_documents
from syncline.project.file_roots import project_file_policy, refuse_paths_off_roots
from syncline.project.left_behind import left_behind_notes
from syncline.project.mode_changes import (
    SettingChange,
    clear_and_fill_levels,
    setting_changes,
    setting_warning,
    warn_of_setting_changes,
)
from syncline.project.model_columns import (
    primary_key_problem,
    read_columns,
    repeated_columns_problem,
)
from syncline.project.moves import note_moves
from syncline.project.plan import KINDS, Action, Plan, State, compute_plan, desired_state
from syncline.project.refusals import refuse_restarts_while_running, refuse_what_the_catalog_would
from syncline.project.restarts import (
    SyncRestart,
    note_planner_switches,
    note_restarts,
    stray_warning,
    sync_restarts,
)
from syncline.project.sequences import put_sequence, read_sequences
from syncline.project.spec import Project
from syncline.project.sync_checks import column_problems
from syncline.security.files import FilePolicy
from syncline.settings import Settings, get_settings

logger = logging.getLogger(__name__)


def plan_project(catalog: Catalog, project: Project, settings: Settings | None = None) -> Plan:
    """What applying ``project`` would create, change and delete; writes nothing.

    Values read from environment variables are named in its problems, notes and
    warnings, never shown (see :mod:`syncline.project.concealed`).
    """
    documents = project_documents(project)
    try:
        plan = _plan(catalog, project, settings or get_settings())
    except ValidationError as exc:
        raise ValidationError(conceal(exc.problems, documents)) from None
    plan.notes = conceal_notes(plan.notes, documents)
    plan.warnings = conceal(plan.warnings, documents)
    return plan


def _plan(catalog: Catalog, project: Project, settings: Settings) -> Plan:
    desired, secrets = _desired(project)
    try:
        with catalog.session(project.workspace, read_only=True) as session:
            current = read_state(session)
            plan = compute_plan(desired, current, _managed(session), secrets)
            _refuse_impossible(plan, desired, current, project)
            refuse_what_the_catalog_would(session, plan, desired, current)
            retargeted = _retargeted(plan, desired, current)
            refuse_restarts_while_running(session, plan, (desired, current), retargeted, lock=False)
    except NotFoundError:
        current = {kind: {} for kind in KINDS}
        plan = compute_plan(desired, current, {}, secrets)
        _refuse_impossible(plan, desired, current, project)
    # The roots the runs will keep to: the first API key or web user brings them in.
    policy = project_file_policy(catalog, project, settings)
    refuse_paths_off_roots(project, policy)
    plan.warnings.extend(_refuse_missing_columns(plan, project, settings, policy))
    _note_retargeted(plan, _retargeted(plan, desired, current), desired, current)
    note_moves(plan, desired, current)
    note_restarts(plan, sync_restarts(plan, desired, current), project)
    warn_of_setting_changes(plan, setting_changes(plan, desired, current), project)
    note_planner_switches(plan, desired, current)
    plan.notes += left_behind_notes(catalog, project.workspace, desired, _managed, read_state)
    return plan


def apply_project(catalog: Catalog, project: Project, settings: Settings | None = None) -> Plan:
    """Make the catalog's workspace match ``project`` in one transaction; returns the plan."""
    settings = settings or get_settings()
    # Sources are asked for model columns here, before the write transaction opens.
    checked = plan_project(catalog, project, settings)
    _ensure_workspace(catalog, project.workspace)
    desired, secrets = _desired(project)

    forgotten: list[int] = []
    with catalog.session(project.workspace) as session:
        current = read_state(session)
        plan = compute_plan(desired, current, _managed(session), secrets)
        _refuse_impossible(plan, desired, current, project)
        refuse_what_the_catalog_would(session, plan, desired, current)
        retargeted = _retargeted(plan, desired, current)
        refuse_restarts_while_running(session, plan, (desired, current), retargeted, lock=True)
        _note_retargeted(plan, retargeted, desired, current)
        note_moves(plan, desired, current)
        restarts = sync_restarts(plan, desired, current)
        note_restarts(plan, restarts, project)
        settings_changed = setting_changes(plan, desired, current)
        warn_of_setting_changes(plan, settings_changed, project)
        note_planner_switches(plan, desired, current)
        # Concealed before they meet the checked plan's, which are concealed already.
        documents = project_documents(project)
        plan.notes = conceal_notes(plan.notes, documents)
        plan.warnings = conceal(plan.warnings, documents)
        # Taken before the writer deletes syncs, whose planner tables go after the commit.
        planned = warehouse_sources(session)
        installation_id = session.installation_id
        plan.warnings.extend(w for w in checked.warnings if w not in plan.warnings)
        # Read before this session, which must not open another.
        plan.notes.extend(n for n in checked.notes if n not in plan.notes)
        _Writer(session, project, checked.model_columns).write(plan, forgotten)
        restarted, strays = _sort_restarts(session, restarts, forgotten, project)
        _note_stale_settings(session, settings_changed, project, strays)
        plan.notes = conceal_notes(plan.notes, documents)
        plan.warnings = conceal(plan.warnings, documents)
        for slug, keys in retargeted.items():
            moved = session.destinations.sync_ids(session.destinations.get(slug))
            forgotten += moved
            logger.info(
                "destination %s now points elsewhere (%s): snapshots of syncs %s dropped",
                slug, ", ".join(keys), moved,
            )  # fmt: skip
        session.syncs.refuse_restart_while_running(
            [*forgotten, *restarted],
            "applying the project's new object, destination, model or primary key for it",
        )
        _save_managed(session, {kind: set(desired[kind]) for kind in KINDS})

    for sync_id in sorted(set(forgotten)):
        delete_snapshot(settings.snapshot_dir, sync_id)
        forget_sync_state(planned.pop(sync_id, None), sync_id, installation_id)
    for sync_id in sorted(set(restarted) - set(forgotten)):
        _restart(settings, sync_id, planned.pop(sync_id, None), installation_id)
    for sync_id, warning in strays.items():
        note_strays(settings.snapshot_dir, sync_id, warning)
    logger.info("applied project to workspace %s: %d changes", project.workspace, len(plan.changes))
    return plan


def _sort_restarts(
    session: CatalogSession, restarts: list[SyncRestart], forgotten: list[int], project: Project
) -> tuple[list[int], dict[int, str]]:
    """The ids of the restarted syncs that keep their keys, and by id the warnings of those
    that leave records behind; the syncs that do not keep their keys join ``forgotten``."""
    kept = []
    strays: dict[int, str] = {}
    for restart in restarts:
        sync_id = session.syncs.get(restart.slug).id
        if restart.keeps_keys:
            kept.append(sync_id)
            continue
        forgotten.append(sync_id)
        if restart.removes:
            warning = stray_warning(restart, project)
            strays[sync_id] = f"{warning.message}; {warning.fix}"
    return kept, strays


def _note_stale_settings(
    session: CatalogSession,
    changes: list[SettingChange],
    project: Project,
    strays: dict[int, str],
) -> None:
    """Add to ``strays`` the warning of each sync whose new setting leaves records that one
    clear-and-fill run removes: every run repeats it until then, as for a changed key."""
    for change in filter(clear_and_fill_levels, changes):
        warning = setting_warning(change, project)
        sync_id = session.syncs.get(change.slug).id
        strays.setdefault(sync_id, f"{warning.message}; {warning.fix}")


def _restart(settings: Settings, sync_id: int, source: Any, installation_id: str | None) -> None:
    """Make a moved sync's next run send every row and remove what its model lacks."""
    try:
        restart_snapshot(settings.snapshot_dir, sync_id)
    except SnapshotLocked as exc:
        # A run of the old model still holds the file: starting afresh is what is left.
        warning = (
            f"sync {sync_id} moved to another model while a run held its snapshot, which "
            "was dropped: records it delivered that the new model lacks stay in its object; "
            f"trigger one clear-and-fill run of it (`syncline run {sync_id} --clear-and-fill`, "
            f'or POST /api/v1/syncs/{sync_id}/trigger with {{"clearAndFill": true}}) to '
            "remove them"
        )
        logger.warning("%s (%s)", warning, exc)
        delete_snapshot(settings.snapshot_dir, sync_id)
        note_strays(settings.snapshot_dir, sync_id, warning)
    restart_sync_state(source, sync_id, installation_id)


def read_state(session: CatalogSession) -> State:
    """The workspace's resources as plain fields, comparable with a project's."""
    sources = {r.id: r.slug for r in session.sources.list()}
    destinations = {r.id: r.slug for r in session.destinations.list()}
    models = {r.id: r.slug for r in session.models.list()}

    state: State = {kind: {} for kind in KINDS}
    for source in session.sources.list():
        state["sources"][source.slug] = _connection(source, session.sources.plain_configuration)
    secrets = session.destinations.secrets
    for target in session.destinations.list():
        plain = session.destinations.plain_configuration
        alerts = read_policy(session.orm, secrets, destination_id=target.id)
        state["destinations"][target.slug] = {**_connection(target, plain), "alerts": alerts}
    for model in session.models.list():
        state["models"][model.slug] = {
            "name": model.name,
            "source": sources[model.source_id],
            "primaryKey": model.primary_key,
            "queryType": model.query_type,
            "sql": model.sql,
            "table": model.table_name,
            "description": model.description,
            "tags": dict(model.tags),
        }
    for sync in session.syncs.list():
        state["syncs"][sync.slug] = {
            "model": models[sync.model_id],
            "destination": destinations[sync.destination_id],
            "configuration": dict(sync.configuration),
            "schedule": sync.schedule,
            "disabled": sync.disabled,
            "tags": dict(sync.tags),
            "alerts": read_policy(session.orm, secrets, sync_id=sync.id),
        }
    state["sequences"] = read_sequences(session)
    return state


def _connection(record: SourceRecord | DestinationRecord, plain: Any) -> dict[str, Any]:
    return {"name": record.name, "type": record.type, "configuration": plain(record)}


def _desired(project: Project) -> tuple[State, dict[tuple[str, str], frozenset[str]]]:
    desired = desired_state(project)
    secrets: dict[tuple[str, str], frozenset[str]] = {}
    lookups = {"sources": registry.source_class, "destinations": registry.destination_class}
    for kind, lookup in lookups.items():
        for slug, fields in desired[kind].items():
            # Secrets come back from the catalog exactly as written, so they compare as is.
            secrets[(kind, slug)] = lookup(fields["type"]).config_model.secret_fields()
    return desired, secrets


def _refuse_impossible(
    plan: Plan, desired: State, current: State, project: Project | None = None
) -> None:
    problems = []
    lookups = {"sources": registry.source_class, "destinations": registry.destination_class}
    for change in plan.of(Action.CHANGE):
        if "type" in change.fields:
            before = current[change.kind][change.slug]["type"]
            after = desired[change.kind][change.slug]["type"]
            if _same_connector(lookups[change.kind], before, after):
                # Another name of the same connector (mariadb, mysql): just renamed.
                continue
            origin = getattr(project, change.kind)[change.slug].origin if project else None
            problems.append(
                Problem(
                    f"{change.kind}.{change.slug}.type",
                    f"the {change.kind[:-1]} {change.slug!r} cannot change type from "
                    f"{before!r} to {after!r}",
                    fix="declare it under a new slug and point its users to it",
                    file=origin.file if origin else None,
                    line=origin.line if origin else None,
                )
            )
    if problems:
        raise ValidationError(problems)


def _refuse_missing_columns(
    plan: Plan, project: Project, settings: Settings, policy: FilePolicy
) -> list[Problem]:
    """Refuse models the plan creates or changes whose primary key is not among their
    columns, and syncs it creates or changes whose mappings read columns a model lacks.

    Each model's query runs once on its source; a source that cannot answer leaves its
    model and syncs unchecked rather than refusing the apply (the warehouse may be down
    now): the warnings returned, one per such model, say so.
    """
    changed_models = {
        c.slug for c in plan.changes if c.kind == "models" and c.action != Action.DELETE
    }
    touched = {c.slug for c in plan.changes if c.kind == "syncs" and c.action != Action.DELETE}
    touched |= {slug for slug, sync in project.syncs.items() if sync.model in changed_models}
    columns: dict[str, list[str] | None] = {}
    warnings: list[Problem] = []

    def model_columns(slug: str) -> list[str] | None:
        model = project.models.get(slug)
        source = project.sources.get(model.source) if model else None
        if model is None or source is None:
            return None
        if slug not in columns:
            found = read_columns(
                source.type, source.configuration, model.sql, model.table, settings,
                workspace=project.workspace, policy=policy,
            )  # fmt: skip
            columns[slug] = found.names
            if found.names is not None:
                plan.model_columns[slug] = found.names
            if found.names is None:
                query = model.origin.at(("raw" if model.sql is not None else "table",))
                warnings.append(found.warning(slug, source.type, query.location, query))
        return columns[slug]

    problems = []
    for slug in sorted(changed_models):
        model = project.models[slug]
        known = model_columns(slug)
        repeated = repeated_columns_problem(slug, known) if known is not None else None
        if repeated is not None:
            where = "raw" if model.sql is not None else "table"
            problems.append(model.origin.below(Problem(where, *repeated)))
        elif known is not None and model.primary_key not in known:
            message, fix = primary_key_problem(slug, model.primary_key, known)
            problems.append(model.origin.below(Problem("primaryKey", message, fix)))
    for slug in sorted(touched):
        sync = project.syncs[slug]
        known = model_columns(sync.model)
        if known is None:
            continue
        configuration = SyncConfiguration.parse(sync.configuration)
        for problem in column_problems(configuration, known, f"model {sync.model!r}"):
            problems.append(sync.origin.below(problem))
    if problems:
        raise ValidationError(problems)
    return warnings


def _retargeted(plan: Plan, desired: State, current: State) -> dict[str, list[str]]:
    """Destinations whose changed configuration points elsewhere, with the keys that moved."""
    moved: dict[str, list[str]] = {}
    for change in plan.of(Action.CHANGE):
        if change.kind != "destinations":
            continue
        wanted = desired["destinations"][change.slug]
        try:
            config = registry.destination_class(wanted["type"]).config_model
        except (ConfigError, ImportError, AttributeError):
            continue
        before = current["destinations"][change.slug]["configuration"]
        keys = config.identity_changes(before, wanted["configuration"])
        if keys:
            moved[change.slug] = keys
    return moved


def _note_retargeted(
    plan: Plan, moved: dict[str, list[str]], desired: State, current: State
) -> None:
    for slug, keys in moved.items():
        # Only syncs that wrote here have a snapshot to drop; others are noted as moves.
        syncs = sorted(
            s
            for s, fields in desired["syncs"].items()
            if fields["destination"] == slug
            and current["syncs"].get(s, {}).get("destination") == slug
        )
        if not syncs:
            continue
        plan.notes.append(
            f"destination {slug!r} now points elsewhere ({', '.join(keys)} changed): the "
            f"snapshots of {', '.join(repr(s) for s in syncs)} are dropped, so their next "
            "runs send every row"
        )


def _same_connector(lookup: Any, before: str, after: str) -> bool:
    try:
        return bool(lookup(before) is lookup(after))
    except (ConfigError, ImportError, AttributeError):
        return False


class _Writer:
    """Writes a plan's changes in one catalog session, creating before deleting."""

    def __init__(
        self, session: CatalogSession, project: Project, model_columns: dict[str, list[str]]
    ) -> None:
        self.session = session
        self.project = project
        self.model_columns = model_columns
        """Columns of the models whose sources answered (see :attr:`Plan.model_columns`)."""
        self.forgotten: list[int] = []
        """Syncs whose snapshot no longer describes their target: deleted or retargeted."""

    def write(self, plan: Plan, forgotten: list[int]) -> None:
        """Write every change of ``plan``; ``forgotten`` receives the syncs to start afresh."""
        self.forgotten = forgotten
        for kind in KINDS:
            for change in plan.changes:
                if change.kind == kind and change.action != Action.DELETE:
                    getattr(self, f"_put_{kind}")(change.slug, change.action == Action.CREATE)
                    self.session.flush()

        for change in plan.of(Action.DELETE):
            repository = getattr(self.session, change.kind)
            if change.kind == "syncs":
                forgotten.append(repository.get(change.slug).id)
            repository.delete(change.slug)

    def _put_sources(self, slug: str, create: bool) -> None:
        self._put_connection(self.session.sources, self.project.sources[slug], create)

    def _put_destinations(self, slug: str, create: bool) -> None:
        spec = self.project.destinations[slug]
        self._put_connection(self.session.destinations, spec, create)
        self.session.flush()
        self._put_alerts(spec.alerts, destination_id=self.session.destinations.get(slug).id)

    def _put_alerts(
        self,
        declared: dict[str, Any] | None,
        *,
        destination_id: int | None = None,
        sync_id: int | None = None,
    ) -> None:
        write_policy(
            self.session.orm, self.session.destinations.secrets, self.session.workspace_id,
            declared, destination_id=destination_id, sync_id=sync_id,
        )  # fmt: skip

    def _put_connection(self, repository: Any, spec: Any, create: bool) -> None:
        if create:
            repository.create(
                name=spec.name, slug=spec.slug, type=spec.type, configuration=spec.configuration
            )
        else:
            # Only another name of the same connector gets here (see _refuse_impossible).
            repository.get(spec.slug).type = spec.type
            repository.update(
                spec.slug,
                name=spec.name,
                configuration=spec.configuration,
                keep_stored_secrets=False,
            )

    def _put_models(self, slug: str, create: bool) -> None:
        spec = self.project.models[slug]
        models = self.session.models
        if create:
            models.create(
                name=spec.name, slug=slug, source=spec.source, query_type=spec.query_type,
                primary_key=spec.primary_key, sql=spec.sql, table=spec.table,
                description=spec.description, tags=spec.tags,
            )  # fmt: skip
            return

        record: ModelRecord = models.get(slug)
        if record.primary_key != spec.primary_key:
            self._forget(SyncRecord.model_id == record.id, spec.primary_key)
        # The repository keeps a model's source and query type fixed, as the API does;
        # a project may move them, so they are set on the record directly.
        record.source_id = self.session.sources.get(spec.source).id
        record.query_type = spec.query_type
        record.sql = spec.sql
        record.table_name = spec.table
        models.update(
            slug, name=spec.name, primary_key=spec.primary_key,
            description=spec.description, tags=spec.tags,
        )  # fmt: skip
        # Syncs the plan leaves as they are read the changed query too; unknown columns
        # (the source did not answer) leave them as they were.
        self.session.syncs.refresh_columns(record, self.model_columns.get(slug))

    def _put_syncs(self, slug: str, create: bool) -> None:
        spec = self.project.syncs[slug]
        model = self.project.models[spec.model]
        configuration = SyncConfiguration.parse(spec.configuration)
        syncs = self.session.syncs
        known = self.model_columns.get(spec.model)
        if known is None and not create:
            # The source did not answer: a sync without mappings keeps the columns it had
            # until its next run records what it read.
            known = syncs.get(slug).referenced_columns
        columns = referenced_columns(configuration, model.primary_key, known)
        if create:
            created = syncs.create(
                slug=slug, model=spec.model, destination=spec.destination,
                configuration=spec.configuration, schedule=spec.schedule,
                disabled=spec.disabled, primary_key=model.primary_key,
                referenced_columns=columns, tags=spec.tags,
            )  # fmt: skip
            self.session.flush()
            self._put_alerts(spec.alerts, sync_id=created.id)
            return

        record: SyncRecord = syncs.get(slug)
        model_id = self.session.models.get(spec.model).id
        destination_id = self.session.destinations.get(spec.destination).id
        # A move to another model alone keeps the snapshot when it can (see restarts).
        if (record.destination_id, record.configuration.get("object")) != (
            destination_id,
            configuration.object,
        ):
            self.forgotten.append(record.id)
        record.model_id = model_id
        record.destination_id = destination_id
        syncs.update(
            slug, configuration=spec.configuration, schedule=spec.schedule,
            disabled=spec.disabled, primary_key=model.primary_key,
            referenced_columns=columns, tags=spec.tags,
        )  # fmt: skip
        self._put_alerts(spec.alerts, sync_id=record.id)

    def _put_sequences(self, slug: str, create: bool) -> None:
        put_sequence(self.session, self.project.sequences[slug], create)

    def _forget(self, which: ColumnElement[bool], primary_key: str | None) -> None:
        # A snapshot keyed by the old primary key, or kept for another target, would make
        # the next run send only a diff into a target that never received the rest.
        for record in self.session.orm.scalars(select(SyncRecord).where(which)):
            record.primary_key = primary_key or record.primary_key
            self.forgotten.append(record.id)


def _ensure_workspace(catalog: Catalog, workspace: str) -> None:
    with catalog.session() as session:
        if not any(w.slug == workspace for w in session.workspaces.list()):
            session.workspaces.create(workspace)
            logger.info("created workspace %s", workspace)


def _managed(session: CatalogSession) -> dict[str, list[str]]:
    """Slugs per kind that earlier applies of a project declared in this workspace."""
    rows = session.orm.scalars(
        select(ProjectResourceRecord).where(
            ProjectResourceRecord.workspace_id == session.workspace_id
        )
    )
    managed: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for row in rows:
        managed.setdefault(row.kind, []).append(row.slug)
    return managed


def _save_managed(session: CatalogSession, declared: dict[str, set[str]]) -> None:
    """Record exactly the resources the project now declares, in the apply's transaction."""
    session.orm.execute(
        delete(ProjectResourceRecord).where(
            ProjectResourceRecord.workspace_id == session.workspace_id
        )
    )
    session.orm.add_all(
        ProjectResourceRecord(workspace_id=session.workspace_id, kind=kind, slug=slug)
        for kind in KINDS
        for slug in sorted(declared[kind])
    )
