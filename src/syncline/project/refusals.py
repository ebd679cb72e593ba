"""What the catalog would refuse of a plan, found before anything is written.

Applying deletes a resource only when nothing left in the workspace uses it and no run of
it is in progress, and changes a sequence's steps only between its runs; otherwise the
catalog refuses and the apply fails; a sync that starts over (a new object, destination,
model or primary key) is refused while a run of it is in progress, too. ``syncline plan``
raises the same error, so that it never shows a change that ``apply`` then refuses. Users
are judged as they will be after the apply: the project's resources as declared, the
others as the catalog holds them, minus what the plan deletes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from syncline.catalog import CatalogSession, InUseError
from syncline.project.plan import KINDS, Action, Change, Plan, State
from syncline.project.restarts import sync_restarts

_USERS = {
    "sources": ("models", "source"),
    "destinations": ("syncs", "destination"),
    "models": ("syncs", "model"),
}
"""For a kind that others point at: the kind that points, and the field it points with."""


def refuse_what_the_catalog_would(
    session: CatalogSession, plan: Plan, desired: State, current: State
) -> None:
    """Raise the :class:`~syncline.catalog.ConflictError` applying ``plan`` would meet first.

    Changes are written before deletions, and deletions go sequences first, sources last
    (see :data:`~syncline.project.plan.KINDS`), as the plan lists them.
    """
    for change in plan.of(Action.CHANGE):
        if change.kind == "sequences" and "steps" in change.fields:
            record = session.sequences.get(change.slug)
            session.sequences.refuse_while_running(record, "change its steps")
    after = _after(plan, desired, current)
    for change in plan.of(Action.DELETE):
        _refuse_delete(session, change, after)


def refuse_restarts_while_running(
    session: CatalogSession,
    plan: Plan,
    state: tuple[State, State],
    retargeted: Iterable[str],
    *,
    lock: bool,
) -> None:
    """Raise the :class:`~syncline.catalog.ConflictError` of the first sync that ``plan``
    makes start over while a run of it is in progress, naming what changed for it.

    ``state`` is the desired and the current state; ``retargeted`` the destinations whose
    configuration now points elsewhere. ``lock`` locks the syncs' rows until the session
    ends, as ``apply`` does before it writes.
    """
    for slug, what in sorted(_restarting(plan, *state, set(retargeted)).items()):
        session.syncs.refuse_restart_while_running(
            [session.syncs.get(slug).id], f"applying the project's new {what} for it", lock=lock
        )


def _restarting(plan: Plan, desired: State, current: State, retargeted: set[str]) -> dict[str, str]:
    """By slug, the syncs of the catalog that ``plan`` makes start over, and what changes
    for each: its object, destination, model or primary key."""
    found: dict[str, str] = {}
    for change in plan.of(Action.CHANGE):
        if change.kind != "syncs":
            continue
        before, after = current["syncs"][change.slug], desired["syncs"][change.slug]
        if before["destination"] != after["destination"]:
            found[change.slug] = "destination"
        elif before["configuration"].get("object") != after["configuration"].get("object"):
            found[change.slug] = "object"
    for restart in sync_restarts(plan, desired, current):
        moved = current["syncs"][restart.slug]["model"] != restart.model
        found.setdefault(restart.slug, "model" if moved else "primary key")
    rekeyed = {
        c.slug for c in plan.of(Action.CHANGE) if c.kind == "models" and "primaryKey" in c.fields
    }
    for slug, fields in current["syncs"].items():
        if fields["destination"] in retargeted:
            found.setdefault(slug, "destination")
        elif fields["model"] in rekeyed:
            found.setdefault(slug, "primary key")
    return found


def _refuse_delete(session: CatalogSession, change: Change, after: State) -> None:
    if change.kind == "sequences":
        record = session.sequences.get(change.slug)
        session.sequences.refuse_while_running(record, "delete the sequence")
        return
    if change.kind == "syncs":
        sequences = sorted(
            slug
            for slug, fields in after["sequences"].items()
            if any(step["sync"] == change.slug for step in fields["steps"])
        )
        if sequences:
            raise InUseError("sync", change.slug, "sync sequences", sequences)
        session.syncs.refuse_while_running(session.syncs.get(change.slug))
        return
    users_kind, field = _USERS[change.kind]
    users = sorted(
        slug for slug, fields in after[users_kind].items() if fields[field] == change.slug
    )
    if users:
        raise InUseError(change.kind[:-1], change.slug, users_kind, users)


def _after(plan: Plan, desired: State, current: State) -> State:
    """The workspace once ``plan`` is applied: declared resources as declared, the rest
    as they are, minus those deleted."""
    deleted = {(c.kind, c.slug) for c in plan.of(Action.DELETE)}
    after: State = {}
    for kind in KINDS:
        kept: dict[str, dict[str, Any]] = {
            slug: fields
            for slug, fields in current.get(kind, {}).items()
            if (kind, slug) not in deleted
        }
        after[kind] = {**kept, **desired.get(kind, {})}
    return after
