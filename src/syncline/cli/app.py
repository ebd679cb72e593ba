"""The ``syncline`` command: global options, the command tree, errors and exit codes.

Commands live in their own modules and return an exit code; this module turns every
error into one clear line on stderr (a traceback only with ``--debug``) and an exit
status from :class:`~syncline.cli.exitcodes.ExitCode`.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from typing import TYPE_CHECKING, Annotated, TypeGuard

import typer

from syncline.cli import (
    key_commands,
    output,
    planner_commands,
    project_commands,
    resource_commands,
    run_commands,
    sequence_commands,
    serve_commands,
    user_commands,
    worker_commands,
)
from syncline.cli.context import options as _options
from syncline.cli.exitcodes import ExitCode
from syncline.cli.logs import configure_logging
from syncline.errors import ConnectorError, RunError, SynclineError, UserError
from syncline.settings import load_settings

if TYPE_CHECKING:
    import sqlalchemy.exc

logger = logging.getLogger(__name__)


app = typer.Typer(
    name="syncline",
    help="Sync warehouse models into the tools where people work, sending only what changed.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
sources_app = typer.Typer(help="Inspect sources.", no_args_is_help=True)
destinations_app = typer.Typer(help="Inspect destinations.", no_args_is_help=True)
models_app = typer.Typer(help="Inspect models.", no_args_is_help=True)
syncs_app = typer.Typer(help="Inspect syncs.", no_args_is_help=True)
keys_app = typer.Typer(help="Make, list and revoke API keys.", no_args_is_help=True)
workspaces_app = typer.Typer(help="Make and list workspaces.", no_args_is_help=True)
sequences_app = typer.Typer(help="List and run sync sequences.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")
app.add_typer(destinations_app, name="destinations")
app.add_typer(models_app, name="models")
app.add_typer(syncs_app, name="syncs")
app.add_typer(keys_app, name="keys")
app.add_typer(workspaces_app, name="workspaces")
app.add_typer(sequences_app, name="sequences")
users_app = typer.Typer(
    help="Make, list, disable, enable, delete and reset web UI accounts.", no_args_is_help=True
)
app.add_typer(users_app, name="users")
app.add_typer(planner_commands.planner_app, name="planner")


@app.callback()
def _global_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
    log_level: Annotated[
        str | None,
        typer.Option(help="DEBUG, INFO, WARNING or ERROR [env: SYNCLINE_LOG_LEVEL]."),
    ] = None,
    log_format: Annotated[
        str | None, typer.Option(help="text or json [env: SYNCLINE_LOG_FORMAT].")
    ] = None,
    workspace: Annotated[
        str | None,
        typer.Option(
            help="The workspace to work in [env: SYNCLINE_WORKSPACE; default: the project's "
            "workspace, else default]."
        ),
    ] = None,
) -> None:
    """Sync warehouse models into the tools where people work, sending only what changed."""
    _options.debug = debug
    _options.workspace = workspace.strip() if workspace and workspace.strip() else None
    settings = load_settings()
    level = (log_level or settings.log_level).upper()
    fmt = (log_format or settings.log_format).lower()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise UserError(f"--log-level {log_level!r} must be DEBUG, INFO, WARNING or ERROR")
    if fmt not in ("text", "json"):
        raise UserError(f"--log-format {log_format!r} must be text or json")
    configure_logging(level, fmt)


app.command("init")(project_commands.init)
app.command("quickstart")(project_commands.quickstart)
app.command("validate")(project_commands.validate)
app.command("plan")(project_commands.plan)
app.command("apply")(project_commands.apply)
app.command("run")(run_commands.run)
app.command("runs")(run_commands.runs)
app.command("rows")(run_commands.rows)
app.command("worker")(worker_commands.worker)
app.command("serve")(serve_commands.serve)
sources_app.command("test")(resource_commands.test_source)
destinations_app.command("test")(resource_commands.test_destination)
models_app.command("preview")(resource_commands.preview_model)
syncs_app.command("list")(resource_commands.list_syncs)
keys_app.command("create")(key_commands.create_key)
keys_app.command("list")(key_commands.list_keys)
keys_app.command("revoke")(key_commands.revoke_key)
workspaces_app.command("create")(key_commands.create_workspace)
workspaces_app.command("list")(key_commands.list_workspaces)
sequences_app.command("list")(sequence_commands.list_sequences)
sequences_app.command("run")(sequence_commands.run_sequence)
users_app.command("create")(user_commands.create_user)
users_app.command("list")(user_commands.list_users)
users_app.command("disable")(user_commands.disable_user)
users_app.command("enable")(user_commands.enable_user)
users_app.command("delete")(user_commands.delete_user)
users_app.command("set-password")(user_commands.set_password)
users_app.command("set-role")(user_commands.set_role)


def run_cli(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` and return the exit code instead of exiting."""
    _options.debug = False
    _options.workspace = None
    try:
        result = app(args=argv, prog_name="syncline", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.TyperException as exc:
        show = getattr(exc, "show", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and show is not None:
            # A group named without a command: its help is the answer.
            show()
            return ExitCode.USER_ERROR
        # Usage errors (an unknown option, a missing argument, a bad value) are one line
        # like every other error, pointing at the command's help for the usage.
        context = getattr(exc, "ctx", None)
        command = context.command_path if context is not None else "syncline"
        _error(f"{exc.format_message().rstrip('.')} (see `{command} --help`)")
        return ExitCode.USER_ERROR
    except typer.Abort:
        _error("aborted")
        return ExitCode.RUN_FAILED
    except UserError as exc:
        return _fail(exc, ExitCode.USER_ERROR)
    except (ConnectorError, RunError) as exc:
        return _fail(exc, ExitCode.RUN_FAILED)
    except SynclineError as exc:
        return _fail(exc, ExitCode.RUN_FAILED)
    except Exception as exc:  # noqa: BLE001 - the last line of defence prints one line
        if _options.debug:
            raise
        if _is_database_error(exc):
            # Connectors wrap their own database errors, so a bare one is the catalog's.
            _error(_catalog_unreachable(exc))
            return ExitCode.RUN_FAILED
        _error(f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return ExitCode.RUN_FAILED
    return int(result) if isinstance(result, int) else ExitCode.OK


def _is_database_error(exc: Exception) -> TypeGuard[sqlalchemy.exc.DBAPIError]:
    """Whether ``exc`` is SQLAlchemy's DBAPIError, without importing SQLAlchemy for it.

    A command that never imported SQLAlchemy (``--help``, ``init``) cannot have raised
    one, so the check costs nothing where the import would cost most of a start-up.
    """
    exc_module = sys.modules.get("sqlalchemy.exc")
    return exc_module is not None and isinstance(exc, exc_module.DBAPIError)


def _catalog_unreachable(exc: sqlalchemy.exc.DBAPIError) -> str:
    """One line naming the catalog database that failed, its password hidden, and the fix."""
    import sqlalchemy.engine
    import sqlalchemy.exc

    url = os.environ.get("SYNCLINE_DATABASE_URL")
    if url:
        try:
            shown = sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
        except sqlalchemy.exc.ArgumentError:
            shown = "(unreadable)"
        where = f"the catalog database SYNCLINE_DATABASE_URL={shown}"
        fix = "start that database or correct SYNCLINE_DATABASE_URL"
    else:
        where = "the SQLite catalog in SYNCLINE_HOME"
        fix = "check that SYNCLINE_HOME is writable, or set SYNCLINE_DATABASE_URL"
    reason = " ".join(str(exc.orig).split()) if exc.orig is not None else type(exc).__name__
    if "database is locked" in reason:
        # SQLite's busy timeout ran out: another process kept its write transaction open.
        fix = (
            "another process has held the catalog's write lock past the wait; a paused "
            "or hung syncline process is the usual cause: resume it (kill -CONT) or stop "
            "it, then try again. Many workers on one catalog are better served by "
            "PostgreSQL (SYNCLINE_DATABASE_URL)"
        )
    return f"{where} cannot be used: {reason[:300]}. Fix: {fix}"


def _fail(exc: SynclineError, code: ExitCode) -> int:
    if _options.debug:
        logger.error("command failed", exc_info=exc)
    _error(output.error_text(exc))
    return code


def _error(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()


def main() -> None:
    """Entry point of the ``syncline`` console script."""
    # The modules imported so far live as long as the process. Frozen, they are left out
    # of every collection: the command's own collections do not walk them again and
    # again, and neither does the last one at interpreter exit (its cost grows with
    # every object of every imported module). Nothing relies on them being finalized:
    # the catalog, the connectors and the planners close their connections explicitly.
    gc.freeze()
    code = run_cli(sys.argv[1:])
    # The same for what the command imported on the way (the engine, the connectors,
    # their drivers): by now it is done with, its connections closed.
    gc.freeze()
    sys.exit(code)
