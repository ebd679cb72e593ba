"""Compare a project with what the catalog holds: what to create, change and delete.

Both sides are first reduced to the same plain fields per resource (slugs for references,
decrypted configurations), so the comparison is a pure function and easy to test.
Secret values never appear in a plan: a changed secret is shown by name only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from syncline.errors import Problem
from syncline.project.sequences import sequence_fields
from syncline.project.spec import ConnectionSpec, ModelSpec, Project, SyncSpec

KINDS = ("sources", "destinations", "models", "syncs", "sequences")
"""Resource kinds in the order they are created (and, reversed, deleted)."""


class Action(StrEnum):
    """What applying the plan does to one resource."""

    CREATE = "create"
    CHANGE = "change"
    DELETE = "delete"


@dataclass(frozen=True)
class Change:
    """One resource the plan creates, changes or deletes, with the fields that differ."""

    action: Action
    kind: str
    """``sources``, ``destinations``, ``models``, ``syncs`` or ``sequences``."""
    slug: str
    fields: tuple[str, ...] = ()
    """For a change: the fields that differ, e.g. ``configuration.password (secret)``."""

    def describe(self) -> str:
        """One line for people, e.g. ``change sync 'x': configuration.mode``."""
        text = f"{self.action.value} {self.kind[:-1]} {self.slug!r}"
        return f"{text}: {', '.join(self.fields)}" if self.fields else text


@dataclass
class Plan:
    """Every change that makes the catalog match the project, in a safe order."""

    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What else applying does, e.g. syncs that start afresh because their target moved."""
    warnings: list[Problem] = field(default_factory=list)
    """What applying accepts unchecked, e.g. models whose columns could not be read."""
    model_columns: dict[str, list[str]] = field(default_factory=dict)
    """Columns of the models the plan checked, by slug, as their sources describe them; a
    model whose source could not answer is missing. Applying derives the
    ``referencedColumns`` of their syncs from them, as a run would."""

    @property
    def empty(self) -> bool:
        """True when the catalog already matches the project."""
        return not self.changes

    def of(self, action: Action) -> list[Change]:
        """The changes of one action."""
        return [c for c in self.changes if c.action == action]


State = dict[str, dict[str, dict[str, Any]]]
"""Resources by kind, then slug, as plain comparable fields."""


def desired_state(project: Project) -> State:
    """The fields of every resource the project declares."""
    return {
        "sources": {s: _connection(spec) for s, spec in project.sources.items()},
        "destinations": {
            s: {**_connection(spec), "alerts": spec.alerts}
            for s, spec in project.destinations.items()
        },
        "models": {s: _model(spec) for s, spec in project.models.items()},
        "syncs": {s: _sync(spec) for s, spec in project.syncs.items()},
        "sequences": {s: sequence_fields(spec) for s, spec in project.sequences.items()},
    }


def _connection(spec: ConnectionSpec) -> dict[str, Any]:
    return {"name": spec.name, "type": spec.type, "configuration": spec.configuration}


def _model(spec: ModelSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "source": spec.source,
        "primaryKey": spec.primary_key,
        "queryType": spec.query_type,
        "sql": spec.sql,
        "table": spec.table,
        "description": spec.description,
        "tags": spec.tags,
    }


def _sync(spec: SyncSpec) -> dict[str, Any]:
    return {
        "model": spec.model,
        "destination": spec.destination,
        "configuration": spec.configuration,
        "schedule": spec.schedule,
        "disabled": spec.disabled,
        "tags": spec.tags,
        "alerts": spec.alerts,
    }


def compute_plan(
    desired: State,
    current: State,
    managed: Mapping[str, Iterable[str]],
    secrets: Mapping[tuple[str, str], frozenset[str]] | None = None,
) -> Plan:
    """The changes that turn ``current`` into ``desired``.

    Args:
        desired: what the project declares.
        current: what the catalog's workspace holds.
        managed: slugs per kind that earlier applies of this project created; only these
            are deleted when the project no longer declares them.
        secrets: secret configuration keys per (kind, slug), shown without values.
    """
    secrets = secrets or {}
    plan = Plan()

    for kind in KINDS:
        wanted, existing = desired.get(kind, {}), current.get(kind, {})
        for slug in sorted(wanted):
            if slug not in existing:
                plan.changes.append(Change(Action.CREATE, kind, slug))
                continue
            hidden = secrets.get((kind, slug), frozenset())
            differing = _differences(existing[slug], wanted[slug], hidden)
            if differing:
                plan.changes.append(Change(Action.CHANGE, kind, slug, tuple(differing)))

    for kind in reversed(KINDS):
        wanted, existing = desired.get(kind, {}), current.get(kind, {})
        for slug in sorted(set(managed.get(kind, ())) & set(existing) - set(wanted)):
            plan.changes.append(Change(Action.DELETE, kind, slug))

    return plan


def _differences(old: dict[str, Any], new: dict[str, Any], secrets: frozenset[str]) -> list[str]:
    names = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if key == "configuration" and isinstance(before, dict) and isinstance(after, dict):
            for sub in sorted(set(before) | set(after)):
                if before.get(sub) != after.get(sub):
                    label = f"configuration.{sub}"
                    names.append(f"{label} (secret)" if sub in secrets else label)
        else:
            names.append(key)
    return names
