"""Rich rendering shared by the commands: consoles, plans, run summaries and tables."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from syncline.errors import Problem, ValidationError

# Rich and the project's plan are imported where used: a command that prints nothing
# (or ``--help``) does not pay for them.
if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from syncline.project.plan import Plan


PIPE_WIDTH = 160
"""Width of tables when the output is not a terminal (a pipe, a file, a test)."""


def console() -> Console:
    """A console on stdout; wide plain text when stdout is not a terminal."""
    from rich.console import Console

    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else PIPE_WIDTH
    return Console(highlight=False, soft_wrap=True, width=width)


def error_console() -> Console:
    """A console on stderr, for progress bars and warnings."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def print_plan(out: Console, plan: Plan, *, applied: bool = False) -> None:
    """Print a plan, one resource a line, then a count of each action."""
    from syncline.project.plan import Action

    if plan.empty:
        out.print("No changes: the catalog matches the project.")
        return

    styles = {Action.CREATE: "green", Action.CHANGE: "yellow", Action.DELETE: "red"}
    signs = {Action.CREATE: "+", Action.CHANGE: "~", Action.DELETE: "-"}
    for change in plan.changes:
        style = styles[change.action]
        out.print(f"[{style}]{signs[change.action]} {change.describe()}[/{style}]")
    for note in plan.notes:
        out.print(f"  note: {note}", markup=False)

    counts = ", ".join(f"{len(plan.of(a))} to {a.value}" for a in Action)
    verb = "Applied" if applied else "Plan"
    out.print(f"{verb}: {counts}.")


def plural(count: int, noun: str) -> str:
    """``1 source``, ``2 sources``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def problem_line(problem: Problem) -> str:
    """One problem as one line: ``file:line (where): message. Fix: what to do``."""
    where = problem.location
    if problem.file is not None:
        where = f"{problem.file}:{problem.line}" if problem.line else problem.file
        where = f"{where} ({problem.location})" if problem.location else where
    # pydantic prefixes messages of custom validators with the error kind.
    message = problem.message.replace("Value error, ", "").rstrip()
    if problem.fix:
        stop = "" if message.endswith((".", "?", "!")) else "."
        message = f"{message}{stop} Fix: {problem.fix}"
    return f"{where}: {message}" if where else message


def error_text(exc: BaseException) -> str:
    """An error as the command prints it: validation problems one a line, else one line."""
    if isinstance(exc, ValidationError):
        head = f"{plural(len(exc.problems), 'problem')} found:"
        return "\n".join([head, *(f"  - {problem_line(p)}" for p in exc.problems)])
    return " ".join(str(exc).split())


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """A table with ``columns`` and one row per item, values shown as text."""
    from rich.table import Table

    result = Table(title=title, show_lines=False)
    for column in columns:
        result.add_column(column)
    for row in rows:
        result.add_row(*(_text(v) for v in row))
    return result


def _text(value: Any) -> str:
    """A value as a table cell shows it: NULL as ``-``, a year in four digits (strftime
    writes year 1 as ``1``), text with spaces at its edges quoted so that they show."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        # A value with a time zone keeps it on screen: it is an instant, not a wall time.
        zone = f" {value.tzname()}" if value.tzinfo is not None else ""
        return f"{value.year:04d}" + value.strftime("-%m-%d %H:%M:%S") + zone
    if isinstance(value, str) and value != value.strip():
        return repr(value)
    return str(value)


def counts_table(run: dict[str, Any]) -> Table:
    """Planned, successful and failed rows by operation, from an API-shaped run."""
    from rich.table import Table

    result = Table(title=f"Run {run['id']}: {run['status']}")
    for column in ("rows", "added", "changed", "removed"):
        result.add_column(column, justify="right" if column != "rows" else "left")
    for label, key in (("planned", "plannedRows"), ("successful", "successfulRows")):
        counts = run[key]
        result.add_row(
            label, str(counts["addedCount"]), str(counts["changedCount"]),
            str(counts["removedCount"]),
        )  # fmt: skip
    failed = run["failedRows"]
    result.add_row(
        "failed", str(failed["addedCount"]), str(failed["changedCount"]),
        str(failed["removedCount"]),
    )  # fmt: skip
    return result
