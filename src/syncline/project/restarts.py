"""Which syncs an apply makes start over, and whether they can still remove what they sent.

A sync moved to another model (or whose model's primary key or whose id field changed)
sends every row of its model on its next run. When its destination, object, primary key
and id field stay, its snapshot still names the records it delivered: it is kept, and
that run also removes the delivered records the new model lacks (mode ``mirror``, or a
delete behaviour). Otherwise the snapshot is dropped, and a sync that removes records
cannot tell which of those it delivered are gone from the model: the plan warns so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from syncline.connectors import registry
from syncline.engine.actions import plan_steps
from syncline.engine.config import SyncConfiguration
from syncline.engine.planner.warehouse.choice import DEFAULT_SCHEMA
from syncline.errors import Problem, SynclineError
from syncline.project.plan import Action, Plan, State
from syncline.project.spec import Project

_CLEAR_AND_FILL = (
    "after this change, trigger one clear-and-fill run of the sync, which empties object "
    "{object!r} and sends every row: `syncline run {slug} --clear-and-fill`, POST "
    '/api/v1/syncs/trigger with {{"syncSlug": "{slug}", "clearAndFill": true}}, or Clear '
    "and fill on its page in the web UI"
)
_BY_HAND = (
    "destination type {type!r} cannot empty object {object!r} for a clear-and-fill run: "
    "delete by hand the records there that the model no longer has"
)


def stray_fix(slug: str, object_name: str | None, destination_type: str) -> str:
    """How to remove the records a sync can no longer tell are gone from its model."""
    if clears_objects(destination_type):
        return _CLEAR_AND_FILL.format(slug=slug, object=object_name)
    return _BY_HAND.format(type=destination_type, object=object_name)


def clears_objects(destination_type: str) -> bool:
    """Whether a destination type can empty its object for a clear-and-fill run; an
    unknown type is assumed to, as validation reports it with its own message."""
    try:
        return bool(registry.destination_class(destination_type).capabilities.clears_objects)
    except (SynclineError, ImportError, AttributeError):
        return True


@dataclass(frozen=True)
class SyncRestart:
    """A sync whose next run sends every row: why, and whether its keys are kept."""

    slug: str
    model: str
    keeps_keys: bool
    """True when the snapshot is kept, so that the run removes what the model lacks."""
    old_key: str
    new_key: str
    old_id: str
    """The field the destination's records were matched on."""
    new_id: str
    """The field they are matched on from now on."""
    removes: bool
    """Whether the sync removes records that leave the model (mirror, delete behaviour)."""
    object: str | None
    destination_type: str
    moved_snapshot: str | None = None
    """Where the snapshot would have to move, when the new model plans elsewhere."""

    @property
    def lost_because(self) -> str:
        """Why the snapshot cannot be kept, for people."""
        if self.old_id != self.new_id:
            return f"now matches records on {self.new_id!r} (was {self.old_id!r})"
        if self.moved_snapshot is not None:
            return f"now plans {self.moved_snapshot}"
        return f"now keys its rows on {self.new_key!r} (was {self.old_key!r})"


def sync_restarts(plan: Plan, desired: State, current: State) -> list[SyncRestart]:
    """The syncs of ``plan`` that start over on the same destination object."""
    rekeyed = {
        c.slug for c in plan.of(Action.CHANGE) if c.kind == "models" and "primaryKey" in c.fields
    }
    restarts = []
    for slug in sorted(set(desired["syncs"]) & set(current["syncs"])):
        before, after = current["syncs"][slug], desired["syncs"][slug]
        old = parsed_configuration(before["configuration"])
        new = parsed_configuration(after["configuration"])
        if old is None or new is None or before["destination"] != after["destination"]:
            continue
        if old.object != new.object:
            continue  # Another object: the sync starts afresh there, nothing to remove.
        old_key = current["models"][before["model"]]["primaryKey"]
        new_key = desired["models"][after["model"]]["primaryKey"]
        old_id = old.external_id_mapping.to if old.external_id_mapping else old_key
        new_id = new.external_id_mapping.to if new.external_id_mapping else new_key
        moved = before["model"] != after["model"] or after["model"] in rekeyed
        if not moved and old_id == new_id:
            continue
        homes = (_home(current, before["model"]), _home(desired, after["model"]))
        restart = SyncRestart(
            slug=slug,
            model=after["model"],
            keeps_keys=old_key == new_key and old_id == new_id and homes[0] == homes[1],
            old_key=old_key,
            new_key=new_key,
            old_id=old_id,
            new_id=new_id,
            removes=plan_steps(new.mode, new.removed_rows)[-1].sends,
            object=new.object,
            destination_type=desired["destinations"][after["destination"]]["type"],
            moved_snapshot=None if homes[0] == homes[1] else f"{homes[1]} (was {homes[0]})",
        )
        restarts.append(restart)
    return restarts


def note_restarts(plan: Plan, restarts: list[SyncRestart], project: Project) -> None:
    """Say in ``plan`` what each restart does: a note, and a warning when records stay."""
    for restart in restarts:
        name = f"sync {restart.slug!r}"
        if restart.keeps_keys:
            removal = (
                f" and removes the records it delivered that {restart.model!r} lacks"
                if restart.removes
                else ""
            )
            plan.notes.append(
                f"{name} moves to model {restart.model!r}: its next run sends every row{removal}"
            )
            continue
        plan.notes.append(
            f"{name} {restart.lost_because}: its snapshot is dropped, so its next run sends "
            "every row"
        )
        if restart.removes:
            plan.warnings.append(stray_warning(restart, project))


def stray_warning(restart: SyncRestart, project: Project) -> Problem:
    """The warning that a restarted sync leaves records it can no longer remove."""
    origin = project.syncs[restart.slug].origin
    return Problem(
        f"syncs.{restart.slug}",
        f"sync {restart.slug!r} {restart.lost_because}, so it cannot tell which of the "
        "records it delivered the model no longer has, though it removes records that "
        f"leave its model: they stay in object {restart.object!r}",
        fix=stray_fix(restart.slug, restart.object, restart.destination_type),
        file=origin.file,
        line=origin.line,
    )


def note_planner_switches(plan: Plan, desired: State, current: State) -> None:
    """Say in ``plan`` which syncs' next run takes their snapshot over from the planner,
    or the planner schema, their source leaves (see :mod:`syncline.engine.planner.switch`).

    The plan cannot see the snapshots: a sync whose source switched back before any run
    kept its snapshot where it is, so the note says "if any".
    """
    for slug in sorted(set(desired["sources"]) & set(current["sources"])):
        was = _planner(current, slug)
        now = _planner(desired, slug)
        schemas = (_planner_schema(current, slug), _planner_schema(desired, slug))
        if was == now and (now == "local" or schemas[0] == schemas[1]):
            continue
        syncs = sorted(
            sync
            for sync, fields in desired["syncs"].items()
            if sync in current["syncs"]
            and desired["models"].get(fields["model"], {}).get("source") == slug
            and current["models"].get(current["syncs"][sync]["model"], {}).get("source") == slug
        )
        if not syncs:
            continue
        named = ", ".join(repr(sync) for sync in syncs)
        if was == now:
            plan.notes.append(
                f"source {slug!r} now keeps its planner tables in schema {schemas[1]!r} (was "
                f"{schemas[0]!r}): the next run of each of its syncs ({named}) takes its "
                f"snapshot over from schema {schemas[0]!r}, sends every row once, removes the "
                f"records its model lacks, and drops its tables in schema {schemas[0]!r}"
            )
            continue
        plan.notes.append(
            f"source {slug!r} now plans on the {now} planner (was {was}): the next run of "
            f"each of its syncs ({named}) takes over the snapshot it left on the {was} "
            f"planner, if any: that run sends every row once, removes the records its model "
            f"lacks, and leaves nothing of it on the {was} planner"
        )


def _planner(state: State, source: str) -> str:
    configuration = state["sources"][source].get("configuration", {})
    return "warehouse" if configuration.get("planner") == "warehouse" else "local"


def _planner_schema(state: State, source: str) -> str:
    configuration = state["sources"][source].get("configuration", {})
    return str(configuration.get("plannerSchema") or DEFAULT_SCHEMA)


def _home(state: State, model: str) -> str:
    """Where a model's syncs keep their snapshots: the local planner, or a source."""
    source = state["models"][model]["source"]
    configuration = state["sources"].get(source, {}).get("configuration", {})
    if configuration.get("planner") == "warehouse":
        return f"in the warehouse of source {source!r}"
    return "on the local planner"


def parsed_configuration(configuration: dict[str, Any]) -> SyncConfiguration | None:
    """A sync's configuration as the engine reads it, or None when it does not parse."""
    try:
        return SyncConfiguration.parse(configuration)
    except (SynclineError, ValueError):
        return None
