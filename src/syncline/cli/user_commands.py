"""Commands that manage web UI accounts: make one, and list them.

The password is asked for (hidden, typed twice) unless it comes from
``SYNCLINE_USER_PASSWORD``, so it never has to appear in a shell history.
"""

from __future__ import annotations

from typing import Annotated

import typer

from syncline.catalog.users import Role, UserRepository
from syncline.cli import output
from syncline.cli.context import open_catalog
from syncline.cli.key_commands import WorkspaceOption, _workspace
from syncline.settings import load_settings


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
    settings = load_settings()
    slug = _workspace(settings, workspace)
    with open_catalog(settings) as catalog, catalog.session(slug, read_only=True) as session:
        rows = [
            (u.id, u.email, u.role, u.created_at, u.last_sign_in_at)
            for u in UserRepository(session.orm).list(session.workspace_id)
        ]
    columns = ("id", "e-mail", "role", "created", "last sign-in")
    output.console().print(output.table(f"Users of workspace {slug}", columns, rows))
