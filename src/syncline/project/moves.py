"""Syncs that start afresh because they move to another destination or object, or are
renamed: what the plan says of them.

A sync's snapshot describes one object of one destination, so a sync moved to another
(its ``destination`` slug or its ``object`` changed) drops it and its next run sends every
row. A sync's slug is its identity in the catalog: renamed in the project, it is another
sync, created without a snapshot or history while the old one is deleted with its runs,
and its first run sends every row again into the object the old one filled. In modes
``insert`` and ``append`` such rows are written a second time (an insert into a table
rejects them as existing), which one CDC reset before any other run avoids.
"""

from __future__ import annotations

from typing import Any

from syncline.connectors.destinations.base import SyncMode
from syncline.project.plan import Action, Plan, State

_WRITE_ONCE = (SyncMode.INSERT.value, SyncMode.APPEND.value)
"""Modes that never touch a record again, so that a second send of a row duplicates it."""


def note_moves(plan: Plan, desired: State, current: State) -> None:
    """Add to ``plan`` a note for each sync that moves, and for each renamed sync."""
    for change in plan.of(Action.CHANGE):
        if change.kind != "syncs":
            continue
        before, after = current["syncs"][change.slug], desired["syncs"][change.slug]
        note = _moved(change.slug, before, after, _same_place(before, after, desired, current))
        if note is not None:
            plan.notes.append(note)
    for new, old in renamed_syncs(plan, desired, current):
        after = desired["syncs"][new]
        plan.notes.append(
            f"sync {new!r} takes over object {_object(after)!r} of destination "
            f"{after['destination']!r} from {old!r}, deleted with its run history: a sync's "
            "slug is its identity, so its first run sends every row again"
            + _reset_hint(new, after, f"the last run of {old!r}")
        )


def _moved(
    slug: str, before: dict[str, Any], after: dict[str, Any], same_place: bool
) -> str | None:
    """The note for a sync whose destination or object changes; None when neither does.

    ``same_place`` says the new destination is the old one under another slug (same type
    and configuration), so that the records the sync delivered are where it now writes.
    """
    objects = _object(before), _object(after)
    if before["destination"] != after["destination"]:
        where = f"to destination {after['destination']!r} (was {before['destination']!r})"
        if objects[0] != objects[1]:
            where += f", object {objects[1]!r} (was {objects[0]!r})"
    elif objects[0] != objects[1]:
        where = f"object {objects[1]!r} (was {objects[0]!r})"
    else:
        return None
    note = (
        f"sync {slug!r} now writes {where}: its snapshot is dropped, so its next run sends "
        "every row"
    )
    if objects[0] != objects[1]:
        return f"{note}; what it delivered to {objects[0]!r} stays there"
    return note + (_reset_hint(slug, after, "its last run") if same_place else "")


def _same_place(
    before: dict[str, Any], after: dict[str, Any], desired: State, current: State
) -> bool:
    """Whether the sync's new destination is configured as its old one was."""
    old = current["destinations"].get(before["destination"], {})
    new = desired["destinations"].get(after["destination"], {})
    keys = ("type", "configuration")
    return all(old.get(key) == new.get(key) for key in keys)


def renamed_syncs(plan: Plan, desired: State, current: State) -> list[tuple[str, str]]:
    """Pairs (new, old) of a sync the plan creates and one it deletes that write the same
    object of the same destination: most likely one sync under a new slug."""
    deleted = {
        (current["syncs"][c.slug]["destination"], _object(current["syncs"][c.slug])): c.slug
        for c in plan.of(Action.DELETE)
        if c.kind == "syncs"
    }
    pairs = []
    for change in plan.of(Action.CREATE):
        if change.kind != "syncs":
            continue
        fields = desired["syncs"][change.slug]
        old = deleted.get((fields["destination"], _object(fields)))
        if old is not None:
            pairs.append((change.slug, old))
    return pairs


def _reset_hint(slug: str, fields: dict[str, Any], since: str) -> str:
    """For an insert or append sync, how to keep its rows from being written twice."""
    mode = fields["configuration"].get("mode")
    if mode not in _WRITE_ONCE:
        return ""
    return (
        f"; in mode {mode!r} the rows already there are written again: if no row changed "
        f"since {since}, run `syncline run {slug} --reset-cdc` once before any other run, "
        "which takes the current rows as delivered without sending them"
    )


def _object(fields: dict[str, Any]) -> Any:
    return fields["configuration"].get("object")
