"""Which syncs a new mode or delete behaviour makes send what they did not send before.

A run sends only what changed since the last one, and a row the old setting did not send
(a changed row in mode ``insert``, a removed row without a delete behaviour) still moves
the snapshot on. So after a change to a setting that sends such rows, the rows changed or
removed while the old one was in force are never sent: the plan warns and names the run
that levels the destination. A renamed sync (see :mod:`syncline.project.moves`) sends
every row on its first run but knows nothing of the rows removed under the old slug: when
its setting removes records and the old one did not, it is warned of the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from syncline.connectors.destinations.base import SyncMode, WriteAction
from syncline.engine.actions import Step, plan_steps
from syncline.engine.config import SyncConfiguration
from syncline.engine.report import Operation
from syncline.errors import Problem
from syncline.project.moves import renamed_syncs
from syncline.project.plan import Action, Plan, State
from syncline.project.restarts import clears_objects, parsed_configuration, stray_fix
from syncline.project.spec import Project

_SETTINGS = ("configuration.mode", "configuration.deleteBehavior")

_FULL_RESYNC = (
    "trigger one full resync of the sync, which sends every row again: `syncline run "
    "{slug} --full-resync`, POST /api/v1/syncs/trigger with "
    '{{"syncSlug": "{slug}", "fullResync": true}}, or Full resync on its page in the web UI'
)
_UPDATE_BY_HAND = (
    "mode 'update' cannot clear and fill (it creates no record): delete or clear by hand "
    "the records in object {object!r} whose rows the model no longer has, then " + _FULL_RESYNC
)


@dataclass(frozen=True)
class SettingChange:
    """A sync whose new mode or delete behaviour sends rows the old one left unsent."""

    slug: str
    setting: str
    """What changed, for people: ``mode 'mirror' (was 'insert')``."""
    was: str
    """The old value of the setting that changed (the mode, when both did)."""
    unsent: tuple[Operation, ...]
    """The operations the old setting did not send and the new one does."""
    configuration: SyncConfiguration
    destination_type: str
    renamed_from: str | None = None
    """The slug of the sync this one replaces under a new slug, if it is one."""


def setting_changes(plan: Plan, desired: State, current: State) -> list[SettingChange]:
    """The syncs of ``plan`` that now send changed or removed rows the old setting did not.

    A sync that also moves to another destination or object starts afresh there, with
    nothing stale to level, so it is left out.
    """
    found = []
    for change in plan.of(Action.CHANGE):
        if change.kind != "syncs" or not set(_SETTINGS) & set(change.fields):
            continue
        before, after = current["syncs"][change.slug], desired["syncs"][change.slug]
        if before["destination"] != after["destination"]:
            continue
        found.append(
            setting_change(
                change.slug,
                before["configuration"],
                after["configuration"],
                desired["destinations"][after["destination"]]["type"],
            )
        )
    return [change for change in found if change is not None] + _renamed_changes(
        plan, desired, current
    )


def setting_change(
    slug: str, before: dict[str, Any], after: dict[str, Any], destination_type: str
) -> SettingChange | None:
    """How the sync's new configuration ``after`` sends rows ``before`` left unsent; None
    when it sends nothing more, or writes another object (where nothing is stale)."""
    old, new = parsed_configuration(before), parsed_configuration(after)
    if old is None or new is None or old.object != new.object:
        return None
    unsent = _newly_sent(old, new)
    if not unsent:
        return None
    return SettingChange(
        slug=slug,
        setting=_described(old, new),
        was=str(old.mode if old.mode != new.mode else old.removed_rows),
        unsent=unsent,
        configuration=new,
        destination_type=destination_type,
    )


def _renamed_changes(plan: Plan, desired: State, current: State) -> list[SettingChange]:
    """The renamed syncs whose setting removes records the old sync's left in place.

    The first run of a renamed sync sends every row, which levels changed rows; the rows
    removed while the old sync ran are in no snapshot, so their records stay.
    """
    found = []
    for new_slug, old_slug in renamed_syncs(plan, desired, current):
        after = desired["syncs"][new_slug]
        old = parsed_configuration(current["syncs"][old_slug]["configuration"])
        new = parsed_configuration(after["configuration"])
        if old is None or new is None or Operation.REMOVED not in _newly_sent(old, new):
            continue
        found.append(
            SettingChange(
                slug=new_slug,
                setting=_described(old, new) or f"mode {str(new.mode)!r}",
                was=str(old.mode if old.mode != new.mode else old.removed_rows),
                unsent=(Operation.REMOVED,),
                configuration=new,
                destination_type=desired["destinations"][after["destination"]]["type"],
                renamed_from=old_slug,
            )
        )
    return found


def warn_of_setting_changes(plan: Plan, changes: list[SettingChange], project: Project) -> None:
    """Add to ``plan`` one warning per sync whose destination may now be stale."""
    plan.warnings.extend(setting_warning(change, project) for change in changes)


def setting_warning(change: SettingChange, project: Project) -> Problem:
    """The warning that rows changed or removed under the old setting were never sent."""
    origin = project.syncs[change.slug].origin
    return Problem(
        f"syncs.{change.slug}",
        setting_message(change),
        fix=levelling(change),
        file=origin.file,
        line=origin.line,
    )


def setting_message(change: SettingChange) -> str:
    """What the sync's destination keeps that the new setting would not have left."""
    verbs = " or ".join(str(operation) for operation in change.unsent)
    if change.renamed_from is None:
        return (
            f"sync {change.slug!r} now has {change.setting}, which sends rows the old "
            f"setting did not: rows {verbs} while it was {change.was!r} were not sent, "
            "and no later run sends them, so object "
            f"{change.configuration.object!r} keeps their old records"
        )
    return (
        f"sync {change.slug!r} takes over object {change.configuration.object!r} from "
        f"{change.renamed_from!r} with {change.setting}, which removes records: records "
        f"of rows removed while {change.renamed_from!r} ran are not removed by any run "
        "of the new sync, which knows nothing of them"
    )


def clear_and_fill_levels(change: SettingChange) -> bool:
    """Whether one clear-and-fill run levels the destination, so that every run until it
    may repeat the warning (see :func:`~syncline.engine.planner.store.note_strays`)."""
    return (
        Operation.REMOVED in change.unsent
        and change.configuration.mode is not SyncMode.UPDATE
        and clears_objects(change.destination_type)
    )


def _newly_sent(old: SyncConfiguration, new: SyncConfiguration) -> tuple[Operation, ...]:
    """The operations (changed, removed) ``new`` sends and ``old`` left as they were."""
    before, after = _last_steps(old), _last_steps(new)
    unsent = []
    # Mode all plans every row as changed on every run: it levels changed rows itself.
    if new.mode is not SyncMode.ALL and after[Operation.CHANGED].sends:
        if not before[Operation.CHANGED].sends:
            unsent.append(Operation.CHANGED)
    removed = before[Operation.REMOVED], after[Operation.REMOVED]
    if removed[1].sends and (
        not removed[0].sends or (removed[1].action is WriteAction.DELETE and removed[0].clear)
    ):
        unsent.append(Operation.REMOVED)
    return tuple(unsent)


def _last_steps(configuration: SyncConfiguration) -> dict[Operation, Step]:
    """The step of each operation that a run of ``configuration`` takes."""
    steps = plan_steps(configuration.mode, configuration.removed_rows)
    return {step.operation: step for step in steps}


def _described(old: SyncConfiguration, new: SyncConfiguration) -> str:
    parts = []
    if old.mode != new.mode:
        parts.append(f"mode {str(new.mode)!r} (was {str(old.mode)!r})")
    behaviors = old.removed_rows, new.removed_rows
    if behaviors[0] != behaviors[1] and old.delete_behavior != new.delete_behavior:
        parts.append(f"deleteBehavior {str(behaviors[1])!r} (was {str(behaviors[0])!r})")
    return " and ".join(parts)


def levelling(change: SettingChange) -> str:
    """The run (or the work by hand) that brings the destination up to the new setting."""
    configuration = change.configuration
    if Operation.REMOVED not in change.unsent:
        return _FULL_RESYNC.format(slug=change.slug)
    if configuration.mode is SyncMode.UPDATE:
        return _UPDATE_BY_HAND.format(slug=change.slug, object=configuration.object)
    removal = stray_fix(change.slug, configuration.object, change.destination_type)
    if Operation.CHANGED in change.unsent and not clears_objects(change.destination_type):
        return f"{removal}, then {_FULL_RESYNC.format(slug=change.slug)}"
    return removal
