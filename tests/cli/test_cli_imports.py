"""Start-up cost of the command line: what importing it loads, and the frozen heap.

Each test runs a fresh interpreter, since this one has long imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from cli_harness import Invoke

from syncline.catalog.users import Role as CatalogRole
from syncline.cli.user_commands import Role as OptionRole

LAZY_MODULES = (
    "alembic",
    "argon2",
    "duckdb",
    "fastapi",
    "httpx",
    "jinja2",
    "psycopg",
    "pyarrow",
    "pydantic",
    "rich",
    "sqlalchemy",
    "sqlglot",
    "uvicorn",
    "yaml",
    "syncline.alerts",
    "syncline.catalog",
    "syncline.engine.planner.warehouse",
    "syncline.project.loader",
    "syncline.quickstart.scaffold",
    "syncline.worker.execute",
)
"""Modules no command needs just to start: each is imported by the commands that use it."""


def _python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _loaded_after(code: str) -> list[str]:
    """The modules of LAZY_MODULES that ``code``, run in a fresh interpreter, loaded."""
    out = _python(
        f"""
        import json, sys
        {code}
        print(json.dumps(sorted(sys.modules)))
        """
    )
    loaded = set(json.loads(out.splitlines()[-1]))
    return [name for name in LAZY_MODULES if name in loaded]


def test_importing_the_command_line_loads_no_heavy_module() -> None:
    assert _loaded_after("import syncline.cli.app") == []


def test_help_loads_no_heavy_module() -> None:
    # --help prints the whole command tree: every command is registered, none is run.
    code = "from syncline.cli.app import run_cli; run_cli(['--help'])"
    assert _loaded_after(code) == []


def test_a_run_loads_jinja2_only_for_a_template_httpx_only_to_alert_sqlglot_never(
    syncline: Invoke,
) -> None:
    assert syncline("init", "--workspace", "default").code == 0
    assert syncline("apply").code == 0

    def run(sync: str) -> list[str]:
        # A fresh interpreter, in this test's folder and SYNCLINE_HOME (the environment).
        out = _python(
            f"""
            import json, sys
            from syncline.cli.app import run_cli
            code = run_cli(["run", {sync!r}])
            print(json.dumps({{"code": code, "modules": sorted(sys.modules)}}))
            """
        )
        ran = json.loads(out.splitlines()[-1])
        assert ran["code"] == 0, out
        return [name for name in ("jinja2", "httpx", "sqlglot") if name in ran["modules"]]

    # customers-to-csv maps columns only; customers-to-crm has a template mapping. No
    # sync of the sample project has an alert recipient, and its source plans locally
    # (sqlglot renders the in-warehouse planner's statements).
    assert run("customers-to-csv") == []
    assert run("customers-to-crm") == ["jinja2"]


def test_main_freezes_the_imported_modules_before_the_command() -> None:
    out = _python(
        """
        import gc, sys
        import syncline.cli.app as app

        def probe(argv):
            print("frozen during the command:", gc.get_freeze_count())
            return 0

        app.run_cli = probe
        sys.argv = ["syncline", "--help"]
        try:
            app.main()
        except SystemExit as exc:
            print("exit:", exc.code)
        """
    )
    frozen = int(out.split("frozen during the command:")[1].split()[0])
    assert frozen > 1000
    assert "exit: 0" in out


def test_the_role_option_offers_the_catalogs_roles() -> None:
    # The CLI keeps its own copy of the roles so that it need not import the catalog.
    assert [(r.name, r.value) for r in OptionRole] == [(r.name, r.value) for r in CatalogRole]


def test_a_run_off_a_terminal_on_a_sqlite_catalog_loads_no_postgresql_dialect_nor_progress_bar(
    syncline: Invoke,
) -> None:
    assert syncline("init", "--workspace", "default").code == 0
    assert syncline("apply").code == 0

    # A fresh interpreter whose stderr is a pipe: no progress bar is shown, so Rich's
    # progress and live modules are not needed; the catalog is SQLite, so SQLAlchemy's
    # PostgreSQL dialect is not either.
    out = _python(
        """
        import json, sys
        from syncline.cli.app import run_cli
        code = run_cli(["run", "customers-to-csv"])
        print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
        """
    )
    ran = json.loads(out.splitlines()[-1])
    assert ran["code"] == 0, out
    unneeded = ("sqlalchemy.dialects.postgresql", "rich.progress", "rich.live")
    assert [name for name in unneeded if name in ran["modules"]] == []
