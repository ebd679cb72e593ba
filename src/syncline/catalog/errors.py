"""Catalog errors the API turns into 409 Conflict: a taken slug, a resource still in use;
and the 422 of a trigger that contradicts the run already queued for its sync.

All are :class:`~syncline.errors.ConfigError` subclasses, so callers that know only the
root taxonomy still see a user error.
"""

from __future__ import annotations

from collections.abc import Sequence

from syncline.errors import ConfigError, Problem, ValidationError


class ConflictError(ConfigError):
    """The change conflicts with what the catalog holds; the message names the conflict.

    ``where`` names the path parameter of the resource in conflict (``runId``) when it is
    not the path's first one, which the API answers for by default.
    """

    code = "CONFLICT"

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(message)
        self.where = where


class SlugTakenError(ConflictError):
    """Another resource of the same kind in the workspace already has this slug."""

    def __init__(self, kind: str, slug: str) -> None:
        self.kind = kind
        self.slug = slug
        where = "" if kind == "workspace" else " in this workspace"
        super().__init__(f"a {kind} with slug {slug!r} already exists{where}; choose another slug")


class InUseError(ConflictError):
    """A resource cannot be deleted while others depend on it; the message names them."""

    def __init__(self, kind: str, ident: object, users_kind: str, users: Sequence[str]) -> None:
        self.kind = kind
        self.ident = ident
        self.users = list(users)
        super().__init__(
            f"{kind} {ident!r} is used by {users_kind} {', '.join(users)}; "
            f"delete or change those {users_kind} first"
        )


class QueuedRunConflict(ValidationError):
    """A trigger contradicts the run already queued for its sync, so it cannot join it.

    ``run_id`` names the queued run and ``dry_run`` tells whether it is a dry run: a
    caller that can wait (the scheduler, a sequence) waits for that run to start, when
    its own run can be queued behind the running one.
    """

    def __init__(self, problems: Sequence[Problem], *, run_id: int, dry_run: bool) -> None:
        super().__init__(problems)
        self.run_id = run_id
        self.dry_run = dry_run
