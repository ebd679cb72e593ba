"""Validate, apply and run agree on mappings: what validate accepts, apply and a run take."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cli_harness import Invoke

from syncline.cli.exitcodes import ExitCode

CRM_MAPPING = '        - {type: template, template: "{{ plan | upper }} customer", to: segment}\n'
CSV_MAPPING = "        - {type: standard, from: signed_up_at, to: signed_up_at}\n"


def _add_mapping(project: Path, after: str, mapping: str) -> None:
    syncs = project / "syncs.yml"
    text = syncs.read_text()
    assert after in text
    syncs.write_text(text.replace(after, f"{after}        - {mapping}\n"))


def test_a_static_null_is_applied_and_written_as_null(syncline: Invoke, workdir: Path) -> None:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    project = workdir / "proj"
    _add_mapping(project, CRM_MAPPING, "{type: static, value: null, to: note}")
    _add_mapping(project, CSV_MAPPING, "{type: static, value: null, to: note}")

    assert syncline("validate", "--project", "proj").code == ExitCode.OK
    applied = syncline("apply", "--project", "proj")
    assert applied.code == ExitCode.OK, applied.err
    to_crm = syncline("run", "customers-to-crm")
    to_csv = syncline("run", "customers-to-csv")

    assert to_crm.code == ExitCode.OK, to_crm.err
    assert to_csv.code == ExitCode.OK, to_csv.err
    with sqlite3.connect(project / "output" / "crm.sqlite") as crm:
        notes = crm.execute("SELECT DISTINCT note FROM contacts").fetchall()
    assert notes == [(None,)]
    lines = (project / "output" / "customers.csv").read_text().splitlines()
    assert lines[0].endswith(',"note"')
    assert all(line.endswith(",") for line in lines[1:]), lines[1:]
    assert syncline("apply", "--project", "proj").out.startswith("No changes")


def test_an_unknown_filter_is_a_located_problem_for_validate_and_apply(
    syncline: Invoke, workdir: Path
) -> None:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    _add_mapping(
        workdir / "proj", CRM_MAPPING, '{type: template, template: "{{ plan | nosuch }}", to: x}'
    )

    validated = syncline("validate", "--project", "proj")
    applied = syncline("apply", "--project", "proj")

    for result in (validated, applied):
        assert result.code == ExitCode.USER_ERROR, result.err
        assert "syncs.yml:" in result.err
        assert "No filter named 'nosuch'" in result.err
        assert "Fix: use a filter or test Jinja2 has" in result.err
        assert "unexpected" not in result.err


def test_apply_warns_on_screen_of_a_model_whose_query_fails(
    syncline: Invoke, workdir: Path
) -> None:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    models = workdir / "proj" / "models.yml"
    models.write_text(
        models.read_text()
        + "  - slug: bad\n    source: warehouse\n    primaryKey: id\n"
        + '    raw: {sql: "select * from no_such_table"}\n'
    )

    applied = syncline("apply", "--project", "proj")

    assert applied.code == ExitCode.OK, applied.err
    assert "+ create model 'bad'" in applied.out
    [warning] = [line for line in applied.err.splitlines() if line.startswith("warning:")]
    assert "models.yml:" in warning
    assert "the columns of model 'bad' could not be read from its duckdb source" in warning
    assert "no_such_table" in warning
    assert "the mappings of its syncs are unchecked" in warning
