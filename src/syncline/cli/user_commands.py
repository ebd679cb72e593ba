"""Commands that manage web UI accounts: make one, and list them.

The password is asked for (hidden, typed twice) unless it comes from
``SYNCLINE_USER_PASSWORD``, so it never has to appear in a shell history.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from syncline.cli import output
from syncline.cli.context import open_catalog
from syncline.cli.key_commands import WorkspaceOption, _workspace
from syncline.settings import load_settings


class Role(StrEnum):
    """The roles ``--role`` offers; the catalog checks the value again when it stores it.

    A copy of :class:`syncline.catalog.users.Role` (a test keeps the two equal): Typer
    needs the choices when the command is registered, and importing the catalog's
    module for them would load SQLAlchemy and argon2 into every command.
    """

    admin = "admin"
    viewer = "viewer"


def create_user(
    email: Annotated[str, typer.Argument(help="The e-mail address the person signs in with.")],
    role: Annotated[
        Role, typer.Option(help="admin may change and run everything; viewer only looks.")
    ] = Role.viewer,
    workspace: WorkspaceOption = None,
    password: Annotated[
        str,
        typer.Option(
            envvar="SYNCLINE_USER_PASSWORD",
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="At least 10 characters; asked for when not given.",
        ),
    ] = "",
) -> None:
    """Make an account for the web UI in one workspace."""
    from syncline.catalog.users import UserRepository

    settings = load_settings()
    slug = _workspace(settings, workspace)
    with open_catalog(settings) as catalog, catalog.session(slug) as session:
        record = UserRepository(session.orm).create(
            session.workspace_id, email, password, role.value
        )
        shown = (record.id, record.email)
    output.console().print(
        f"Created {role.value} {shown[1]!r} (user {shown[0]}) in workspace {slug!r}; "
        "they sign in at the address `syncline serve` prints."
    )


def list_users(workspace: WorkspaceOption = None) -> None:
    """Show the accounts of a workspace: id, e-mail, role, when made and last signed in."""
    from syncline.catalog.users import UserRepository

    settings = load_settings()
    slug = _workspace(settings, workspace)
    with open_catalog(settings) as catalog, catalog.session(slug, read_only=True) as session:
        rows = [
            (u.id, u.email, u.role, u.created_at, u.last_sign_in_at)
            for u in UserRepository(session.orm).list(session.workspace_id)
        ]
    columns = ("id", "e-mail", "role", "created", "last sign-in")
    output.console().print(output.table(f"Users of workspace {slug}", columns, rows))
