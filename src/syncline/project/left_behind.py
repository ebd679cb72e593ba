"""What a project leaves in the workspace it was applied to before its ``workspace:`` changed.

An apply manages one workspace: moved to another, a project's plan only creates, and its
syncs and sequences stay in the old workspace with their schedules, so their runs go on
beside the new ones. The catalog does not record which folder applied what, so a move is
recognised by what the old workspace holds: resources an apply of a project declared under
this project's slugs, one of its sources or destinations configured as this project's.
Two projects that merely share the sample's slugs differ in their paths and are left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncline.catalog import Catalog, CatalogSession
from syncline.project.plan import State

_CONNECTIONS = ("sources", "destinations")
_RUNNING = ("syncs", "sequences")
"""The kinds whose schedules keep running in the old workspace."""

Managed = Callable[[CatalogSession], dict[str, list[str]]]
ReadState = Callable[[CatalogSession], State]


def left_behind_notes(
    catalog: Catalog, workspace: str, desired: State, managed: Managed, read_state: ReadState
) -> list[str]:
    """A note per other workspace that still holds what this project declared there.

    Only asked on a project's first apply to ``workspace`` (nothing managed there yet),
    so that the note comes once, with the plan that moves the project.
    """
    with catalog.session(read_only=True) as session:
        slugs = [w.slug for w in session.workspaces.list()]
    if workspace in slugs:
        with catalog.session(workspace, read_only=True) as session:
            if any(managed(session).values()):
                return []
    notes = []
    for other in (slug for slug in slugs if slug != workspace):
        with catalog.session(other, read_only=True) as session:
            held = managed(session)
            if not _overlaps(held, desired):
                continue
            note = _note(other, held, read_state(session), desired)
        if note is not None:
            notes.append(note)
    return notes


def _overlaps(held: dict[str, list[str]], desired: State) -> bool:
    return any(set(held.get(kind, ())) & set(desired[kind]) for kind in _RUNNING)


def _note(workspace: str, held: dict[str, list[str]], state: State, desired: State) -> str | None:
    """The note for ``workspace``, or None when none of its connections is this project's."""
    same = any(
        state[kind][slug].get("configuration") == _configuration(desired, kind, slug)
        for kind in _CONNECTIONS
        for slug in set(held.get(kind, ())) & set(desired[kind]) & set(state[kind])
    )
    if not same:
        return None
    kept = []
    for kind in _RUNNING:
        slugs = sorted(set(held.get(kind, ())) & set(state[kind]))
        if slugs:
            name = kind if len(slugs) > 1 else kind[:-1]
            kept.append(f"{name} {', '.join(repr(slug) for slug in slugs)}")
    if not kept:
        return None
    return (
        f"workspace {workspace!r} still holds {' and '.join(kept)}, declared by an earlier apply "
        f"of this project (its sources or destinations are configured alike) before its "
        f"`workspace:` changed: they stay there with their schedules, and their runs go on "
        f"beside the new ones; to delete them, apply a folder holding only a syncline.yml "
        f"with `workspace: {workspace}` (`syncline apply --project FOLDER`), or delete them "
        "in the web UI or through the API"
    )


def _configuration(desired: State, kind: str, slug: str) -> Any:
    return desired[kind][slug].get("configuration")
