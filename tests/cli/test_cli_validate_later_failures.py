"""`syncline validate` reports, all at once, what used to crash it or fail only apply or a run."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
from cli_harness import Invoke

from syncline.cli.exitcodes import ExitCode

MODELS = """
models:
  - slug: active-customers
    source: warehouse
    primaryKey: customer_id
    table: {name: people}
"""

PEOPLE = (
    "CREATE OR REPLACE VIEW people AS SELECT id AS {key}, email, "
    "first_name || ' ' || last_name AS full_name, plan, lifetime_value, signed_up_at "
    "FROM customers WHERE is_active"
)


def test_every_later_failure_is_one_located_problem_with_a_fix(
    syncline: Invoke, workdir: Path
) -> None:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    project = workdir / "proj"
    (project / "syncline.yml").write_text("workspace: Bad Name!\n")
    models = project / "models.yml"
    models.write_text(models.read_text().replace("primaryKey: customer_id", "primaryKey: [a, b]"))
    syncs = project / "syncs.yml"
    text = syncs.read_text().replace("object: customers.csv", 'object: "c-{run_id}.csv"')
    syncs.write_text(
        text.replace('mode: mirror\n      object: "c-', 'mode: update\n      object: "c-')
    )
    (project / "loop.yml").write_text("sources: &a [*a]\n")
    (project / "latin1.yml").write_bytes("sources: []\n# café\n".encode("latin-1"))

    result = syncline("validate", "--project", "proj")

    assert result.code == ExitCode.USER_ERROR
    problems = [line for line in result.err.splitlines() if line.startswith("  - ")]
    assert len(problems) == 5, result.err
    for line in problems:
        assert re.match(r"  - [\w.]+\.yml:\d+", line), line
        assert ". Fix: " in line, line
    assert "syncline.yml:1 (workspace)" in result.err
    assert "models.yml:5 (models[0].primaryKey)" in result.err
    assert "mode 'update' needs a maintained file" in result.err
    assert "loop.yml:1: an alias here refers to a list or mapping that contains it" in result.err
    assert "latin1.yml:2: the file is not UTF-8: byte 0xe9 at line 2, column 6" in result.err
    assert "Traceback" not in result.err


def test_a_run_whose_model_lost_its_key_column_says_so(syncline: Invoke, workdir: Path) -> None:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    with duckdb.connect(str(workdir / "proj" / "warehouse.duckdb")) as warehouse:
        warehouse.execute(PEOPLE.format(key="customer_id"))
    (workdir / "proj" / "models.yml").write_text(MODELS)
    applied = syncline("apply", "--project", "proj")
    assert applied.code == ExitCode.OK, applied.err
    with duckdb.connect(str(workdir / "proj" / "warehouse.duckdb")) as warehouse:
        warehouse.execute(PEOPLE.format(key="customer_no"))

    result = syncline("run", "customers-to-crm")

    assert result.code == ExitCode.RUN_FAILED
    assert "the model's primary key column 'customer_id' is not in the model" in result.err
    assert "(its columns: customer_no, email," in result.err
    assert "set the model's primaryKey to one of them" in result.err
    assert "[PRIMARY_KEY_MISSING]" in result.err


def test_a_run_whose_model_lost_a_mapped_column_names_the_sync_by_slug(
    syncline: Invoke, workdir: Path
) -> None:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    with duckdb.connect(str(workdir / "proj" / "warehouse.duckdb")) as warehouse:
        warehouse.execute(PEOPLE.format(key="customer_id"))
    (workdir / "proj" / "models.yml").write_text(MODELS)
    assert syncline("apply", "--project", "proj").code == ExitCode.OK
    with duckdb.connect(str(workdir / "proj" / "warehouse.duckdb")) as warehouse:
        warehouse.execute(PEOPLE.format(key="customer_id").replace(", plan,", ","))

    result = syncline("run", "customers-to-crm")

    assert result.code == ExitCode.RUN_FAILED
    assert "column 'plan' referenced by the sync is not in the model of sync " in result.err
    assert "sync 'customers-to-crm' (id " in result.err


def test_a_mapping_typo_on_the_sample_query_is_found_at_its_line(
    syncline: Invoke, workdir: Path
) -> None:
    # The sample model is raw SQL on a DuckDB file, which validate asks in DuckDB's sandbox.
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    syncs = workdir / "proj" / "syncs.yml"
    lines = syncs.read_text().splitlines(keepends=True)
    typo = next(i for i, line in enumerate(lines) if "from: email" in line)
    lines[typo] = lines[typo].replace("from: email", "from: emial")
    syncs.write_text("".join(lines))

    result = syncline("validate", "--project", "proj")

    assert result.code == ExitCode.USER_ERROR
    where = f"syncs.yml:{typo + 1} (syncs[0].configuration.mappings[0].from)"
    assert f"{where}: column 'emial' is not in model 'active-customers'" in result.err
