"""Sync sequences in a project: read and check ``sequences:`` entries, and apply them.

A sequence names its syncs by slug::

    sequences:
      - slug: nightly
        name: Nightly CRM refresh
        schedule: {type: cron, schedule: {expression: "0 3 * * *"}}
        steps:
          - sync: accounts-to-crm
            stopOn: fatal_or_rejected
          - sync: contacts-to-crm        # stopOn defaults to fatal

The loader calls :func:`build_sequence` for each entry and :func:`check_references`
once every file is read; plan and apply compare and write the fields of
:func:`sequence_fields`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from syncline.catalog import CatalogSession
from syncline.catalog.sequences import ROUTE_SLUGS, StopOn, route_slug_problem
from syncline.project.schedule import check_schedule
from syncline.project.spec import Origin, SequenceSpec, SequenceStepSpec
from syncline.project.yamlfile import Path_

Report = Callable[[Path_, str, str | None], None]
"""Records a problem at a path below the entry: (path, message, fix)."""

_STEP_KEYS = ("sync", "stopOn")
_RULES = ", ".join(rule.value for rule in StopOn)


def build_sequence(item: dict[str, Any], origin: Origin, report: Report) -> SequenceSpec | None:
    """The sequence an entry declares, or None after reporting every problem in it."""
    problems = _Counter(report)
    steps = _steps(item["steps"], problems)
    schedule, schedule_problems = check_schedule(item.get("schedule"))
    for sub, message, fix in schedule_problems:
        problems(("schedule", *sub), message, fix)

    disabled = item.get("disabled", False)
    if not isinstance(disabled, bool):
        problems(("disabled",), "'disabled' must be true or false", None)
    if item["slug"] in ROUTE_SLUGS:
        problems(("slug",), *route_slug_problem(item["slug"]))
    name = item.get("name") or item["slug"]
    if not isinstance(name, str):
        problems(("name",), "the name must be text", f'put it in quotes: name: "{name}"')

    if problems.count:
        return None
    return SequenceSpec(item["slug"], str(name), tuple(steps), schedule, bool(disabled), origin)


def _steps(raw: Any, report: Report) -> list[SequenceStepSpec]:
    if not isinstance(raw, list) or not raw:
        report(("steps",), "'steps' must be a list of one or more steps", "add - sync: <slug>")
        return []
    steps = []
    for index, step in enumerate(raw):
        if not isinstance(step, dict):
            report(("steps", index), "each step must be a mapping", "write - sync: <slug>")
            continue
        for key in step:
            if key not in _STEP_KEYS:
                report(("steps", index, key), f"unknown key {key!r}", "use sync and stopOn")
        sync = step.get("sync")
        if not isinstance(sync, str) or not sync:
            report(("steps", index), "the step needs 'sync': the slug of a sync", "add sync: ...")
            continue
        stop_on = step.get("stopOn", StopOn.FATAL.value)
        if stop_on not in tuple(StopOn):
            report(("steps", index, "stopOn"), f"unknown stop rule {stop_on!r}", f"use {_RULES}")
            continue
        steps.append(SequenceStepSpec(sync, str(stop_on)))
    return steps


def check_references(
    sequence: dict[str, Any], declared_syncs: Collection[str], report: Report
) -> None:
    """Report each step whose sync the project does not declare."""
    steps = sequence.get("steps")
    if not isinstance(steps, list):
        return
    names = ", ".join(sorted(declared_syncs)) or "none"
    for index, step in enumerate(steps):
        sync = step.get("sync") if isinstance(step, dict) else None
        if isinstance(sync, str) and sync and sync not in declared_syncs:
            report(
                ("steps", index, "sync"),
                f"the sync {sync!r} is not declared in the project (declared: {names})",
                "name a sync declared under syncs",
            )


def sequence_fields(spec: SequenceSpec) -> dict[str, Any]:
    """The fields plan and apply compare, as plain values."""
    return {
        "name": spec.name,
        "steps": [{"sync": step.sync, "stopOn": step.stop_on} for step in spec.steps],
        "schedule": spec.schedule,
        "disabled": spec.disabled,
    }


def read_sequences(session: CatalogSession) -> dict[str, dict[str, Any]]:
    """The workspace's sequences as the same plain fields, steps naming syncs by slug."""
    syncs = {sync.id: sync.slug for sync in session.syncs.list()}
    return {
        record.slug: {
            "name": record.name,
            "steps": [
                {"sync": syncs[step.sync_id], "stopOn": step.stop_on}
                for step in session.sequences.steps(record)
            ],
            "schedule": record.schedule,
            "disabled": record.disabled,
        }
        for record in session.sequences.list(order_by="slug")
    }


def put_sequence(session: CatalogSession, spec: SequenceSpec, create: bool) -> None:
    """Create the sequence, or make the stored one match ``spec``."""
    fields = sequence_fields(spec)
    if create:
        session.sequences.create(
            slug=spec.slug, name=spec.name, steps=fields["steps"], schedule=spec.schedule,
            disabled=spec.disabled,
        )  # fmt: skip
        return
    session.sequences.update(
        spec.slug, name=spec.name, steps=fields["steps"], schedule=spec.schedule,
        disabled=spec.disabled,
    )  # fmt: skip


class _Counter:
    """Passes problems on and counts them, so a builder knows whether it found any."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.count = 0

    def __call__(self, path: Path_, message: str, fix: str | None) -> None:
        self.count += 1
        self.report(path, message, fix)
