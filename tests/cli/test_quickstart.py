"""`syncline quickstart` as a user runs it: the real console script in a fresh folder.

The expected counts are computed here independently: the same sample warehouse is
built, read before and after the scripted changes, and diffed in Python over the
columns the sync maps.
"""

from __future__ import annotations

import csv
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb

from syncline.quickstart.warehouse import apply_sample_changes, create_warehouse

MODEL = (
    "SELECT id AS customer_id, email, first_name || ' ' || last_name AS full_name, plan,"
    " CAST(lifetime_value AS VARCHAR) AS lifetime_value,"
    " strftime(signed_up_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S') AS signed_up_at"
    " FROM customers WHERE is_active"
)


def read_model(path: Path) -> dict[int, tuple[object, ...]]:
    with duckdb.connect(str(path), read_only=True) as db:
        return {row[0]: row[1:] for row in db.execute(MODEL).fetchall()}


def diff(before: dict[int, tuple[object, ...]], after: dict[int, tuple[object, ...]], columns):
    added = len(after.keys() - before.keys())
    removed = len(before.keys() - after.keys())
    changed = sum(
        1
        for key in after.keys() & before.keys()
        if [after[key][i] for i in columns] != [before[key][i] for i in columns]
    )
    return added, changed, removed


def printed_counts(output: str, run_id: int) -> tuple[int, int, int]:
    section = output.split(f"Run {run_id}: ")[1]
    match = re.search(r"planned\s*│\s*(\d+)\s*│\s*(\d+)\s*│\s*(\d+)", section)
    assert match, section
    return int(match[1]), int(match[2]), int(match[3])


def test_quickstart_syncs_the_changes_and_the_destinations_equal_the_model(
    tmp_path: Path,
) -> None:
    reference = tmp_path / "reference.duckdb"
    create_warehouse(reference)
    before = read_model(reference)
    apply_sample_changes(reference)
    after = read_model(reference)
    # crm maps email, full_name, plan (also in the template) and lifetime_value.
    expected_crm = diff(before, after, columns=(0, 1, 2, 3))
    # The CSV export maps email, plan and signed_up_at.
    expected_csv = diff(before, after, columns=(0, 2, 4))

    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCLINE_")}
    env.update(SYNCLINE_HOME=str(tmp_path / "home"), COLUMNS="200")
    script = Path(sys.executable).with_name("syncline")
    done = subprocess.run(
        [str(script), "quickstart"], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert printed_counts(done.stdout, 1) == (len(before), 0, 0)
    assert printed_counts(done.stdout, 3) == expected_crm
    assert printed_counts(done.stdout, 4) == expected_csv
    assert expected_crm == (4, 5, 4)

    output = tmp_path / "syncline-quickstart" / "output"
    with sqlite3.connect(output / "crm.sqlite") as db:
        rows = db.execute("SELECT id, email, name, plan, lifetime_value, segment FROM contacts")
        crm = {row[0]: row[1:] for row in rows.fetchall()}
    # Decimals are stored exactly, as text (the model reads them as text too).
    assert crm == {
        key: (email, name, plan, value, f"{plan.upper()} customer")
        for key, (email, name, plan, value, _) in after.items()
    }

    with (output / "customers.csv").open(newline="") as handle:
        exported = {int(r["customer_id"]): r for r in csv.DictReader(handle)}
    assert set(exported) == set(after)
    for key, (email, _, plan, _, signed_up_at) in after.items():
        assert (exported[key]["email"], exported[key]["plan"]) == (email, plan)
        assert exported[key]["signed_up_at"].startswith(signed_up_at)


def test_quickstart_run_again_reuses_its_folder_and_syncs_the_same(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCLINE_")}
    env.update(SYNCLINE_HOME=str(tmp_path / "home"), COLUMNS="200")
    script = Path(sys.executable).with_name("syncline")

    def quickstart() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(script), "quickstart"], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip

    first = quickstart()
    assert first.returncode == 0, first.stderr
    output = tmp_path / "syncline-quickstart" / "output"
    with sqlite3.connect(output / "crm.sqlite") as db:
        synced = db.execute("SELECT * FROM contacts ORDER BY id").fetchall()

    again = quickstart()

    assert again.returncode == 0, again.stderr
    assert again.stderr == ""
    assert "Reusing the sample project" in again.stdout
    assert "delete the folder" in again.stdout
    # Runs 5 to 8: the reset warehouse is synced afresh, exactly as the first time.
    assert printed_counts(again.stdout, 5) == printed_counts(first.stdout, 1)
    assert printed_counts(again.stdout, 7) == printed_counts(first.stdout, 3)
    assert printed_counts(again.stdout, 8) == printed_counts(first.stdout, 4)
    with sqlite3.connect(output / "crm.sqlite") as db:
        assert db.execute("SELECT * FROM contacts ORDER BY id").fetchall() == synced


def test_quickstart_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCLINE_")}
    env.update(SYNCLINE_HOME=str(tmp_path / "home"))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "syncs.yml").write_text("syncs: []\n")
    script = Path(sys.executable).with_name("syncline")

    done = subprocess.run(
        [str(script), "quickstart", "mine"], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip

    assert done.returncode == 2
    assert "syncline quickstart my-tour" in done.stderr
    assert (tmp_path / "mine" / "syncs.yml").read_text() == "syncs: []\n"


def test_quickstart_leaves_other_folders_and_other_projects_alone(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCLINE_")}
    env.update(SYNCLINE_HOME=str(tmp_path / "home"), COLUMNS="200")
    script = Path(sys.executable).with_name("syncline")

    def syncline(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(script), *args], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip

    assert syncline("init", "project", "--workspace", "default").returncode == 0
    assert syncline("apply", "--project", "project").returncode == 0
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine\n")

    refused = syncline("quickstart", "notes")
    toured = syncline("quickstart", "tour")
    listed = syncline("syncs", "list")

    assert refused.returncode == 2
    assert sorted(p.name for p in (tmp_path / "notes").iterdir()) == ["keep.txt"]
    assert toured.returncode == 0, toured.stderr
    assert "0 to delete" in toured.stdout
    assert "customers-to-crm" in listed.stdout
    assert "pending" in listed.stdout
