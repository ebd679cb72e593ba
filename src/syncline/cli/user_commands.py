"""Commands that manage web UI accounts: make, list, disable, enable, delete, and reset.

A password is asked for (hidden, typed twice) unless it comes from
``SYNCLINE_USER_PASSWORD`` or, with ``--password-stdin``, the first line of standard
input, so it never has to appear in a shell history. Every change that takes rights
away (disabling, deleting, a new password or role) ends the user's sessions at once.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from syncline.cli import output
from syncline.cli.context import chosen_workspace, open_catalog
from syncline.cli.key_commands import _workspace
from syncline.errors import UserError
from syncline.settings import load_settings

if TYPE_CHECKING:
    from syncline.catalog.tables import UserRecord
    from syncline.catalog.users import UserRepository


class Role(StrEnum):
    """The roles ``--role`` offers; the catalog checks the value again when it stores it.

    A copy of :class:`syncline.catalog.users.Role` (a test keeps the two equal): Typer
    needs the choices when the command is registered, and importing the catalog's
    module for them would load SQLAlchemy and argon2 into every command.
    """

    admin = "admin"
    viewer = "viewer"


EmailArgument = Annotated[str, typer.Argument(help="The e-mail address the person signs in with.")]

_DEFAULT_WORKSPACE = "[default: the global --workspace, SYNCLINE_WORKSPACE, else default]"

HomeWorkspaceOption = Annotated[
    str | None,
    typer.Option("--workspace", help=f"The workspace the account belongs to {_DEFAULT_WORKSPACE}."),
]

ListedWorkspaceOption = Annotated[
    str | None,
    typer.Option("--workspace", help=f"The workspace whose accounts to list {_DEFAULT_WORKSPACE}."),
]

OwnerWorkspaceOption = Annotated[
    str | None,
    typer.Option(
        "--workspace",
        help="Refuse the account unless it belongs to this workspace [default: the global "
        "--workspace or SYNCLINE_WORKSPACE when set, else the account's own].",
    ),
]

PasswordOption = Annotated[
    str,
    typer.Option(
        envvar="SYNCLINE_USER_PASSWORD",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="At least 10 characters, not the e-mail's name; asked for when not given. "
        "Given here it stays in the shell history: prefer the prompt, --password-stdin or "
        "SYNCLINE_USER_PASSWORD.",
    ),
]


def _stdin_password(password: str | None, from_stdin: bool) -> str | None:
    """The password from standard input when asked to; ``password`` otherwise."""
    if not from_stdin:
        return password
    return sys.stdin.readline().rstrip("\r\n")


def _prompt_unless_stdin(ctx: typer.Context, param: typer.CallbackParam, value: bool) -> bool:
    # The password prompt must not wait for a terminal when the password comes on stdin.
    if value:
        for other in ctx.command.params:
            if other.name == "password":
                other.prompt = None  # type: ignore[attr-defined]
    return value


PasswordStdinFirst = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        is_eager=True,
        callback=_prompt_unless_stdin,
        help="Read the password from the first line of standard input instead.",
    ),
]


def create_user(
    email: EmailArgument,
    role: Annotated[
        Role, typer.Option(help="admin may change and run everything; viewer only looks.")
    ] = Role.viewer,
    workspace: HomeWorkspaceOption = None,
    password_stdin: PasswordStdinFirst = False,
    password: PasswordOption = "",
) -> None:
    """Make an account for the web UI in one workspace."""
    from syncline.catalog.users import UserRepository
    from syncline.cli.roots_notice import roots_apply_already, warn_of_files_outside_roots

    password = _stdin_password(password, password_stdin) or ""
    settings = load_settings()
    slug = _workspace(settings, workspace)
    with open_catalog(settings) as catalog, catalog.session(slug) as session:
        held_to_roots = roots_apply_already(session, settings)
        record = UserRepository(session.orm).create(
            session.workspace_id, email, password, role.value
        )
        shown = (record.id, record.email)
        if not held_to_roots:
            warn_of_files_outside_roots(session, settings)
    output.console().print(
        f"Created {role.value} {shown[1]!r} (user {shown[0]}) in workspace {slug!r}; "
        "they sign in at the address `syncline serve` prints."
    )


def list_users(workspace: ListedWorkspaceOption = None) -> None:
    """Show the accounts of a workspace: id, e-mail, role, when made, last signed in, and
    whether each is enabled or disabled."""
    from syncline.catalog.users import UserRepository

    settings = load_settings()
    slug = _workspace(settings, workspace)
    with open_catalog(settings) as catalog, catalog.session(slug, read_only=True) as session:
        rows = [
            (u.id, u.email, u.role, u.created_at, u.last_sign_in_at,
             "disabled" if u.disabled_at is not None else "enabled")
            for u in UserRepository(session.orm).list(session.workspace_id)
        ]  # fmt: skip
    columns = ("id", "e-mail", "role", "created", "last sign-in", "status")
    output.console().print(output.table(f"Users of workspace {slug}", columns, rows))


@contextmanager
def _account(email: str, workspace: str | None) -> Iterator[tuple[UserRepository, UserRecord, str]]:
    """The account of ``email`` in a writing session, with its workspace's slug.

    E-mail addresses are unique across the installation, so without a chosen
    workspace the account's own is used; a chosen one that differs is refused by name.
    """
    from syncline.catalog.tables import WorkspaceRecord
    from syncline.catalog.users import UserRepository

    settings = load_settings()
    named = workspace.strip() if workspace and workspace.strip() else None
    if named is None and chosen_workspace(settings) is not None:
        named = _workspace(settings, None)
    with open_catalog(settings) as catalog, catalog.session() as session:
        users = UserRepository(session.orm)
        record = users.find_by_email(email)
        if record is None:
            raise UserError(
                f"no account for {email.strip().lower()!r}; `syncline users list` shows them",
                code="NOT_FOUND",
            )
        owner = session.orm.get(WorkspaceRecord, record.workspace_id)
        assert owner is not None
        if named is not None and named != owner.slug:
            raise UserError(
                f"{record.email!r} belongs to workspace {owner.slug!r}, not {named!r}; "
                f"use --workspace {owner.slug}",
                code="NOT_FOUND",
            )
        yield users, record, owner.slug


def disable_user(email: EmailArgument, workspace: OwnerWorkspaceOption = None) -> None:
    """Refuse the user's sign-ins and end their sessions at once; `enable` undoes it."""
    with _account(email, workspace) as (users, record, slug):
        users.disable(record)
        shown = record.email
    output.console().print(f"Disabled {shown!r} in workspace {slug!r}; their sessions have ended.")


def enable_user(email: EmailArgument, workspace: OwnerWorkspaceOption = None) -> None:
    """Let a disabled user sign in again."""
    with _account(email, workspace) as (users, record, slug):
        users.enable(record)
        shown = record.email
    output.console().print(f"Enabled {shown!r} in workspace {slug!r}; they may sign in again.")


def delete_user(email: EmailArgument, workspace: OwnerWorkspaceOption = None) -> None:
    """Remove the account for good, ending its sessions."""
    with _account(email, workspace) as (users, record, slug):
        shown = record.email
        users.delete(record)
    output.console().print(f"Deleted {shown!r} from workspace {slug!r}.")


def set_password(
    email: EmailArgument,
    workspace: OwnerWorkspaceOption = None,
    password_stdin: PasswordStdinFirst = False,
    password: PasswordOption = "",
) -> None:
    """Give the user a new password and end their sessions."""
    password = _stdin_password(password, password_stdin) or ""
    with _account(email, workspace) as (users, record, slug):
        users.set_password(record, password)
        shown = record.email
    output.console().print(
        f"Set a new password for {shown!r} in workspace {slug!r}; their sessions have ended."
    )


def set_role(
    email: EmailArgument,
    role: Annotated[Role, typer.Argument(help="admin or viewer.")],
    workspace: OwnerWorkspaceOption = None,
) -> None:
    """Give the user another role and end their sessions, so they sign in with the new one."""
    with _account(email, workspace) as (users, record, slug):
        users.set_role(record, role.value)
        shown = record.email
    output.console().print(
        f"{shown!r} in workspace {slug!r} is now {role.value}; their sessions have ended."
    )
