"""Sequences in a project: validated with file and line, planned, applied and deleted."""

from __future__ import annotations

from pathlib import Path

import pytest
from sequence_fixtures import SEQUENCE_YAML, Invoke

from syncline.catalog import Catalog, ConflictError
from syncline.cli.exitcodes import ExitCode
from syncline.project.apply import apply_project, plan_project
from syncline.project.loader import load_project
from syncline.scheduling.sequences import advance
from syncline.settings import Settings


def _init(syncline: Invoke, tmp_path: Path, rule: str = "fatal") -> Path:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    (tmp_path / "proj" / "sequences.yml").write_text(SEQUENCE_YAML.format(rule=rule))
    return tmp_path / "proj"


def test_a_valid_sequence_is_loaded(syncline: Invoke, tmp_path: Path) -> None:
    project = load_project(_init(syncline, tmp_path, "fatal_or_rejected"))

    sequence = project.sequences["nightly"]
    assert sequence.name == "Nightly refresh"
    assert [(s.sync, s.stop_on) for s in sequence.steps] == [
        ("customers-to-crm", "fatal_or_rejected"),
        ("customers-to-csv", "fatal"),
    ]
    assert sequence.schedule is None
    assert sequence.origin.file == "sequences.yml"


def test_every_problem_is_reported_with_its_line(syncline: Invoke, tmp_path: Path) -> None:
    folder = _init(syncline, tmp_path)
    (folder / "sequences.yml").write_text(
        "sequences:\n"
        "  - slug: nightly\n"
        "    steps:\n"
        "      - sync: customers-to-crm\n"
        "        stopOn: sometimes\n"
        "      - sync: no-such-sync\n"
        "      - sync: customers-to-csv\n"
        "        colour: red\n"
        "    schedule: {type: weekly}\n"
        "  - slug: empty\n"
        "    steps: []\n"
    )

    result = syncline("validate", "--project", "proj")

    assert result.code == ExitCode.USER_ERROR
    lines = [line.strip() for line in result.err.splitlines()]
    expected = {
        "sequences.yml:5": "unknown stop rule 'sometimes'",
        "sequences.yml:6": "the sync 'no-such-sync' is not declared",
        "sequences.yml:8": "unknown key 'colour'",
        "sequences.yml:9": "unknown schedule type 'weekly'",
        "sequences.yml:11": "'steps' must be a list of one or more steps",
    }
    for where, message in expected.items():
        assert any(where in line and message in line for line in lines), (where, result.err)


def test_plan_apply_change_and_delete(syncline: Invoke, tmp_path: Path) -> None:
    folder = _init(syncline, tmp_path)

    planned = syncline("plan", "--project", "proj")
    assert "+ create sequence 'nightly'" in planned.out
    applied = syncline("apply", "--project", "proj")
    assert applied.code == ExitCode.OK, applied.err
    assert "+ create sequence 'nightly'" in applied.out
    assert "No changes" in syncline("apply", "--project", "proj").out

    listed = syncline("sequences", "list")
    assert "nightly" in listed.out
    assert "customers-to-crm (fatal) → customers-to-csv (fatal)" in listed.out
    assert "never run" in listed.out

    (folder / "sequences.yml").write_text(SEQUENCE_YAML.format(rule="never"))
    changed = syncline("apply", "--project", "proj")
    assert "~ change sequence 'nightly': steps" in changed.out

    # Removing a sync and the sequence that uses it in one apply works: the sequence
    # goes first.
    (folder / "sequences.yml").unlink()
    syncs = folder / "syncs.yml"
    text = syncs.read_text()
    syncs.write_text(text[: text.index("  - slug: customers-to-csv")])
    removed = syncline("apply", "--project", "proj")
    assert removed.code == ExitCode.OK, removed.err
    assert "- delete sequence 'nightly'" in removed.out
    assert "- delete sync 'customers-to-csv'" in removed.out
    assert "No sync sequences" in syncline("sequences", "list").out


def test_apply_on_both_catalogs(syncline: Invoke, tmp_path: Path, catalog: Catalog) -> None:
    project = load_project(_init(syncline, tmp_path))
    settings = Settings(home=tmp_path / "home")

    apply_project(catalog, project, settings)

    with catalog.session(read_only=True) as session:
        record = session.sequences.get("nightly")
        steps = [(s.position, s.stop_on) for s in session.sequences.steps(record)]
    assert steps == [(0, "fatal"), (1, "fatal")]
    assert plan_project(catalog, project, settings).empty


def test_a_sequence_slug_the_api_routes_use_is_refused(syncline: Invoke, tmp_path: Path) -> None:
    folder = _init(syncline, tmp_path)
    (folder / "sequences.yml").write_text(
        "sequences:\n  - slug: runs\n    steps:\n      - sync: customers-to-crm\n"
    )

    result = syncline("validate", "--project", "proj")

    assert result.code == ExitCode.USER_ERROR
    assert "sequences.yml:2" in result.err
    assert "a sequence cannot be named 'runs'" in result.err


def _applied_and_running(
    syncline: Invoke, tmp_path: Path, catalog: Catalog
) -> tuple[Path, Settings]:
    """A project with sequence ``nightly`` applied, and a run of the sequence under way."""
    folder = _init(syncline, tmp_path)
    settings = Settings(home=tmp_path / "home")
    apply_project(catalog, load_project(folder), settings)
    with catalog.session() as session:
        session.sequences.trigger("nightly")
    advance(catalog)
    return folder, settings


def test_apply_refuses_new_steps_while_the_sequence_runs(
    syncline: Invoke, tmp_path: Path, catalog: Catalog
) -> None:
    folder, settings = _applied_and_running(syncline, tmp_path, catalog)

    (folder / "sequences.yml").write_text(SEQUENCE_YAML.format(rule="never"))
    with pytest.raises(ConflictError, match="in progress; cancel it or wait"):
        apply_project(catalog, load_project(folder), settings)
    with catalog.session(read_only=True) as session:
        steps = session.sequences.steps(session.sequences.get("nightly"))
    assert [step.stop_on for step in steps] == ["fatal", "fatal"]


def test_plan_refuses_what_apply_refuses_while_the_sequence_runs(
    syncline: Invoke, tmp_path: Path, catalog: Catalog
) -> None:
    folder, settings = _applied_and_running(syncline, tmp_path, catalog)

    for change in ("steps", "delete"):
        if change == "steps":
            (folder / "sequences.yml").write_text(SEQUENCE_YAML.format(rule="never"))
        else:
            (folder / "sequences.yml").unlink()
        project = load_project(folder)
        with pytest.raises(ConflictError) as planned:
            plan_project(catalog, project, settings)
        with pytest.raises(ConflictError) as applied:
            apply_project(catalog, project, settings)

        assert str(planned.value) == str(applied.value), change
        assert "in progress; cancel it or wait" in str(planned.value), change
