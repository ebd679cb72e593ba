"""Commands that manage API access: workspaces, and the keys that open them.

A key opens exactly one workspace. ``keys create`` never makes a workspace: a
mistyped ``--workspace`` would otherwise hand out a key to a new, empty one. Make
workspaces with ``syncline workspaces create`` first.
"""

from __future__ import annotations

from typing import Annotated

import typer

from syncline.cli import output
from syncline.cli.context import DEFAULT_WORKSPACE, chosen_workspace, open_catalog
from syncline.errors import NotFoundError, UserError
from syncline.settings import Settings, load_settings

WorkspaceOption = Annotated[
    str | None,
    typer.Option(
        "--workspace",
        help="The workspace the key opens [default: the global --workspace, "
        "SYNCLINE_WORKSPACE, else default].",
    ),
]


def create_key(
    workspace: WorkspaceOption = None,
    name: Annotated[str, typer.Option(help="What the key is for, e.g. airflow-prod.")] = "api",
) -> None:
    """Make an API key; it is printed once, as the last line, and never shown again."""
    from syncline.cli.roots_notice import roots_apply_already, warn_of_files_outside_roots

    settings = load_settings()
    slug = _workspace(settings, workspace)
    with open_catalog(settings) as catalog:
        try:
            with catalog.session(slug) as session:
                held_to_roots = roots_apply_already(session, settings)
                made = session.keys.create(name)
                key_id, prefix = made.record.id, made.record.prefix
                if not held_to_roots:
                    warn_of_files_outside_roots(session, settings)
        except NotFoundError as exc:
            raise UserError(
                f"{exc.message}. Fix: make it first with `syncline workspaces create {slug}`"
            ) from None

    out = output.console()
    out.print(f"Created API key {key_id} ({prefix}...) named {name!r} for workspace {slug!r}.")
    out.print("Store it now: Syncline keeps only its hash and cannot show it again.")
    # Plain echo: the key must be the whole last line, untouched by any styling.
    typer.echo(made.key)


def list_keys(workspace: WorkspaceOption = None) -> None:
    """Show the workspace's keys: id, name, prefix, when made and last used, and revocation."""
    settings = load_settings()
    slug = _workspace(settings, workspace)
    with open_catalog(settings) as catalog, catalog.session(slug, read_only=True) as session:
        rows = [
            (k.id, k.name, f"{k.prefix}...", k.created_at, k.last_used_at, k.revoked_at)
            for k in session.keys.list()
        ]
    columns = ("id", "name", "prefix", "created", "last used", "revoked")
    output.console().print(output.table(f"API keys of workspace {slug}", columns, rows))


def revoke_key(
    key_id: Annotated[int, typer.Argument(help="The key's id, as `syncline keys list` shows.")],
    workspace: Annotated[
        str | None,
        typer.Option(
            "--workspace",
            help="Refuse unless the key opens this workspace [default: the global "
            "--workspace or SYNCLINE_WORKSPACE when set, else the key's own].",
        ),
    ] = None,
) -> None:
    """Revoke a key: the API refuses it from the next request on.

    Key ids are unique across the installation, so without a named workspace the
    key's own is used; a named one that differs is refused with the right one.
    """
    from syncline.catalog.keys import key_workspace

    settings = load_settings()
    named = workspace.strip() if workspace and workspace.strip() else None
    if named is None and chosen_workspace(settings) is not None:
        named = _workspace(settings, None)
    with open_catalog(settings) as catalog:
        with catalog.session(read_only=True) as session:
            owner = key_workspace(session.orm, key_id)
        if owner is None:
            raise NotFoundError("API key", key_id)
        if named is not None and named != owner:
            raise UserError(
                f"API key {key_id} opens workspace {owner!r}, not {named!r}; revoke it with "
                f"`syncline keys revoke {key_id} --workspace {owner}`",
                code="NOT_FOUND",
            )
        with catalog.session(owner) as session:
            prefix = session.keys.revoke(key_id).prefix
    output.console().print(f"Revoked API key {key_id} ({prefix}...) of workspace {owner!r}.")


def create_workspace(
    slug: Annotated[str, typer.Argument(help="The new workspace's slug, e.g. marketing.")],
    name: Annotated[str | None, typer.Option(help="A display name [default: the slug].")] = None,
) -> None:
    """Make a workspace: a wall around its own sources, models, destinations and syncs."""
    settings = load_settings()
    with open_catalog(settings) as catalog, catalog.session() as session:
        record = session.workspaces.create(slug, name)
        shown = record.slug
    output.console().print(
        f"Created workspace {shown!r}. Give it an API key with "
        f"`syncline keys create --workspace {shown}`."
    )


def list_workspaces() -> None:
    """Show every workspace of the catalog."""
    settings = load_settings()
    with open_catalog(settings) as catalog, catalog.session(read_only=True) as session:
        rows = [(w.id, w.slug, w.name, w.created_at) for w in session.workspaces.list()]
    columns = ("id", "slug", "name", "created")
    output.console().print(output.table("Workspaces", columns, rows))


def _workspace(settings: Settings, given: str | None) -> str:
    if given and given.strip():
        return given.strip()
    chosen = chosen_workspace(settings)
    return chosen[0] if chosen is not None else DEFAULT_WORKSPACE
