"""Applying a destination that points elsewhere, or a sync moved to another model or key:
which syncs start afresh, which keep what they delivered, and what apply says of them."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from project_samples import VALID_SOURCES, WriteFiles

from snapshot_holder import held_snapshot
from syncline.catalog import Catalog, ConflictError
from syncline.engine.planner import store
from syncline.engine.planner.store import snapshot_path, strays_note
from syncline.project.apply import apply_project, plan_project
from syncline.project.loader import load_project
from syncline.project.plan import Plan
from syncline.settings import Settings
from syncline.worker.execute import run_sync

PROJECT = """
models:
  - slug: users
    source: wh
    primaryKey: id
    raw: {{sql: "SELECT 1 AS id"}}
destinations:
  - slug: crm
    type: sqlite
    configuration: {{path: {path}, timeout: {timeout}}}
syncs:
  - slug: users-to-crm
    model: users
    destination: crm
    configuration:
      mode: mirror
      object: people
      mappings: [{{from: id, to: id}}]
"""


def test_a_new_destination_path_drops_the_snapshots_of_its_syncs(
    write_project: WriteFiles, catalog: Catalog, settings: Settings, tmp_path: Path
) -> None:
    def apply(path: str, timeout: float) -> tuple[list[str], list[str]]:
        text = PROJECT.format(path=tmp_path / path, timeout=timeout)
        project = load_project(write_project(**{"a.yml": VALID_SOURCES, "b.yml": text}))
        planned = plan_project(catalog, project, settings)
        applied = apply_project(catalog, project, settings)
        assert applied.notes == planned.notes
        return planned.notes, [c.describe() for c in applied.changes]

    apply("crm.sqlite", 5)
    with catalog.session(read_only=True) as session:
        sync_id = session.syncs.get("users-to-crm").id
    snapshot = snapshot_path(settings.snapshot_dir, sync_id)
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    snapshot.write_bytes(b"a snapshot")

    notes, _ = apply("crm.sqlite", 9)
    assert notes == []
    assert snapshot.exists(), "a timeout does not say where rows go"

    notes, changes = apply("crm2.sqlite", 9)
    assert changes == ["change destination 'crm': configuration.path"]
    assert len(notes) == 1
    assert "'crm' now points elsewhere (path changed)" in notes[0]
    assert "'users-to-crm'" in notes[0]
    assert not snapshot.exists()


@pytest.mark.parametrize(
    ("change", "changed"),
    [
        (("object: people", "object: persons"), "object"),
        (("crm.sqlite", "crm2.sqlite"), "destination"),
        (("primaryKey: id", "primaryKey: name"), "key"),
    ],
)
def test_apply_refuses_a_change_that_drops_a_snapshot_during_a_run(
    write_project: WriteFiles,
    catalog: Catalog,
    settings: Settings,
    tmp_path: Path,
    change: tuple[str, str],
    changed: str,
) -> None:
    text = PROJECT.format(path=tmp_path / "crm.sqlite", timeout=5).replace(
        "SELECT 1 AS id", "SELECT 1 AS id, 'a' AS name"
    )
    apply_project(
        catalog, load_project(write_project(**{"a.yml": VALID_SOURCES, "b.yml": text})), settings
    )
    with catalog.session() as session:
        sync = session.syncs.get("users-to-crm")
        session.runs.enqueue(sync.id)
        session.flush()
        run = session.runs.claim("test-worker")
        assert run is not None
        sync_id, run_id = sync.id, run.id
    snapshot = snapshot_path(settings.snapshot_dir, sync_id)
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    snapshot.write_bytes(b"a snapshot")
    moved = load_project(write_project(**{"b.yml": text.replace(*change)}))

    with pytest.raises(ConflictError, match=f"run {run_id} in progress") as refused:
        apply_project(catalog, moved, settings)

    assert "cancel it or wait for it to finish" in str(refused.value)
    assert snapshot.exists()
    with catalog.session(read_only=True) as session:
        assert session.syncs.get("users-to-crm").configuration["object"] == "people"
        assert session.models.get("users").primary_key == "id"


def test_plan_output_prints_the_notes() -> None:
    from io import StringIO

    from rich.console import Console

    from syncline.cli.output import print_plan
    from syncline.project.plan import Action, Change, Plan

    plan = Plan([Change(Action.CHANGE, "destinations", "crm", ("configuration.path",))])
    plan.notes.append("destination 'crm' now points elsewhere [path]")
    buffer = StringIO()
    print_plan(Console(file=buffer, width=200), plan)
    assert "note: destination 'crm' now points elsewhere [path]" in buffer.getvalue()


def test_apply_refuses_a_sync_mapping_a_column_its_model_lacks(
    write_project: WriteFiles, catalog: Catalog, settings: Settings, tmp_path: Path
) -> None:
    from syncline.errors import ValidationError

    folder = settings.home / "files"
    folder.mkdir(parents=True)
    with duckdb.connect(str(folder / "wh.duckdb")) as connection:
        connection.execute("CREATE TABLE users AS SELECT 1 AS id, 'a@b.c' AS email")
    # Opened for writing: validate would already refuse the mapping of a read-only file.
    path = f"{folder / 'wh.duckdb'}, read_only: false"
    sources = VALID_SOURCES.replace("/tmp/nowhere.duckdb", path)
    text = PROJECT.format(path=tmp_path / "crm.sqlite", timeout=5).replace(
        'raw: {sql: "SELECT 1 AS id"}',
        'raw: {sql: "SELECT * FROM users"}',
    )
    text = text.replace("[{from: id, to: id}]", "[{from: id, to: id}, {from: phone, to: p}]")
    project = load_project(write_project(**{"a.yml": sources, "b.yml": text}))

    with pytest.raises(ValidationError) as caught:
        apply_project(catalog, project, settings)

    (problem,) = caught.value.problems
    # At the mapping's own line, spelt as validate spells it.
    assert problem.location == "syncs[0].configuration.mappings[1].from"
    assert (problem.file, problem.line) == ("b.yml", 17)
    assert "'phone'" in problem.message
    assert "id, email" in (problem.fix or "")
    with catalog.session(read_only=True) as session:
        assert session.syncs.find("users-to-crm") is None, "nothing was applied"


MOVING = """
sources:
  - slug: wh
    type: duckdb
    configuration: {{path: {warehouse}, planner: {planner}}}
models:
  - slug: a
    source: wh
    primaryKey: k
    raw: {{sql: "SELECT range AS k, range AS j, 'x' AS v FROM range(1, 6)"}}
  - slug: b
    source: wh
    primaryKey: {key}
    raw: {{sql: "SELECT range AS k, range AS j, 'x' AS v FROM range(1, 4)"}}
destinations:
  - slug: crm
    type: sqlite
    configuration: {{path: {crm}}}
syncs:
  - slug: ab
    model: {model}
    destination: crm
    configuration: {{mode: mirror, object: ab_t}}
"""


@pytest.fixture(params=["local", "warehouse"])
def moving(
    request: pytest.FixtureRequest, write_project: WriteFiles, settings: Settings
) -> Callable[..., Plan]:
    """Applies the MOVING project with the sync on ``model`` and model b keyed on ``key``."""
    folder = settings.home / "files"
    folder.mkdir(parents=True)
    paths = {"warehouse": folder / "wh.duckdb", "crm": folder / "crm.sqlite"}
    duckdb.connect(str(paths["warehouse"])).close()

    def apply(catalog: Catalog, model: str, key: str = "k") -> Plan:
        text = MOVING.format(planner=request.param, model=model, key=key, **paths)
        project = load_project(write_project(**{"project.yml": text}))
        return apply_project(catalog, project, settings)

    return apply


def _delivered(settings: Settings) -> list[int]:
    with sqlite3.connect(settings.home / "files" / "crm.sqlite") as connection:
        return [row[0] for row in connection.execute("SELECT k FROM ab_t ORDER BY k")]


def _planned(catalog: Catalog, settings: Settings) -> tuple[int, int, int]:
    run = run_sync(catalog, "ab", settings=settings)
    assert run["status"] == "success", run["error"]
    planned = run["plannedRows"]
    return planned["addedCount"], planned["changedCount"], planned["removedCount"]


def test_a_mirror_moved_to_another_model_removes_the_rows_the_new_one_lacks(
    moving: Callable[..., Plan], catalog: Catalog, settings: Settings
) -> None:
    moving(catalog, "a")
    assert _planned(catalog, settings) == (5, 0, 0)

    applied = moving(catalog, "b")

    assert [c.describe() for c in applied.changes] == ["change sync 'ab': model"]
    assert any("'ab'" in note and "every row" in note for note in applied.notes)
    # Every row of the new model is sent again, and the old model's extra rows removed.
    assert _planned(catalog, settings) == (3, 0, 2)
    assert _delivered(settings) == [1, 2, 3]
    assert _planned(catalog, settings) == (0, 0, 0)


def test_a_mirror_matching_records_on_another_field_is_told_to_clear_and_fill(
    moving: Callable[..., Plan],
    catalog: Catalog,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    moving(catalog, "a")
    assert _planned(catalog, settings) == (5, 0, 0)

    applied = moving(catalog, "b", key="j")

    assert any("now matches records on 'j' (was 'k')" in note for note in applied.notes)
    (warning,) = applied.warnings
    assert warning.location == "syncs.ab"
    assert "cannot tell which of the records" in warning.message
    assert '{"syncSlug": "ab", "clearAndFill": true}' in (warning.fix or "")
    # The snapshot keyed on 'k' is gone: every row is sent, nothing can be removed.
    with sqlite3.connect(settings.home / "files" / "crm.sqlite") as connection:
        connection.execute("CREATE UNIQUE INDEX ab_t_j ON ab_t (j)")
    with caplog.at_level(logging.WARNING, logger="syncline.engine.run"):
        run = run_sync(catalog, "ab", settings=settings)
    assert run["status"] == "success"
    assert run["plannedRows"] == {"addedCount": 3, "changedCount": 0, "removedCount": 0}
    assert _delivered(settings) == [1, 2, 3, 4, 5]
    (told,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning.message in told
    assert '"clearAndFill": true' in told


def test_a_move_while_a_run_holds_the_snapshot_starts_afresh_and_says_so(
    write_project: WriteFiles,
    settings: Settings,
    catalog: Catalog,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    folder = settings.home / "files"
    folder.mkdir(parents=True)
    paths = {"warehouse": folder / "wh.duckdb", "crm": folder / "crm.sqlite"}
    duckdb.connect(str(paths["warehouse"])).close()

    def apply(model: str) -> None:
        text = MOVING.format(planner="local", model=model, key="k", **paths)
        apply_project(catalog, load_project(write_project(**{"project.yml": text})), settings)

    apply("a")
    assert _planned(catalog, settings) == (5, 0, 0)
    with catalog.session(read_only=True) as session:
        sync_id = session.syncs.get("ab").id
    monkeypatch.setattr(store, "RESTART_LOCK_WAIT_SECONDS", 0.2)

    with held_snapshot(snapshot_path(settings.snapshot_dir, sync_id)):
        with caplog.at_level(logging.WARNING, logger="syncline.project.apply"):
            apply("b")

    (told,) = [r.getMessage() for r in caplog.records if r.name == "syncline.project.apply"]
    assert "clearAndFill" in told
    assert strays_note(settings.snapshot_dir, sync_id) is not None
    assert _planned(catalog, settings) == (3, 0, 0)


def test_a_source_switching_planner_notes_that_its_syncs_take_their_snapshot_over(
    write_project: WriteFiles, catalog: Catalog, settings: Settings, tmp_path: Path
) -> None:
    def apply(planner: str) -> list[str]:
        sources = VALID_SOURCES.replace(
            "configuration: {path: /tmp/nowhere.duckdb}",
            f"configuration: {{path: {tmp_path / 'wh.duckdb'}, planner: {planner}}}",
        )
        text = PROJECT.format(path=tmp_path / "crm.sqlite", timeout=5)
        project = load_project(write_project(**{"a.yml": sources, "b.yml": text}))
        planned = plan_project(catalog, project, settings)
        applied = apply_project(catalog, project, settings)
        assert applied.notes == planned.notes
        assert applied.warnings == planned.warnings == []
        return planned.notes

    duckdb.connect(str(tmp_path / "wh.duckdb")).close()
    assert apply("local") == []
    for planner, was in (("warehouse", "local"), ("local", "warehouse")):
        notes = apply(planner)
        assert len(notes) == 1
        assert f"source 'wh' now plans on the {planner} planner (was {was})" in notes[0]
        assert "'users-to-crm'" in notes[0]
        # Switched back before a run, a sync keeps its snapshot: the note does not promise.
        assert "takes over the snapshot it left on" in notes[0]
        assert ", if any" in notes[0]

    apply("warehouse")
    notes = apply("warehouse, plannerSchema: other")
    assert len(notes) == 1
    assert "source 'wh' now keeps its planner tables in schema 'other'" in notes[0]
    assert "(was 'syncline_planner')" in notes[0]
    assert "'users-to-crm'" in notes[0]
    assert "drops its tables in schema 'syncline_planner'" in notes[0]
    assert apply("warehouse, plannerSchema: other") == []


def _apply_text(
    write_project: WriteFiles, catalog: Catalog, settings: Settings, text: str
) -> tuple[Plan, Plan]:
    project = load_project(write_project(**{"a.yml": VALID_SOURCES, "b.yml": text}))
    return plan_project(catalog, project, settings), apply_project(catalog, project, settings)


def test_a_destination_change_names_only_the_syncs_that_had_a_snapshot(
    write_project: WriteFiles, catalog: Catalog, settings: Settings, tmp_path: Path
) -> None:
    _apply_text(write_project, catalog, settings, PROJECT.format(path=tmp_path / "a", timeout=5))
    added = PROJECT + PROJECT[PROJECT.index("  - slug: users-to-crm") :].replace(
        "users-to-crm", "brand-new"
    ).replace("object: people", "object: others")

    planned, applied = _apply_text(
        write_project, catalog, settings, added.format(path=tmp_path / "b", timeout=5)
    )

    assert "create sync 'brand-new'" in [c.describe() for c in applied.changes]
    assert planned.notes == applied.notes
    (note,) = applied.notes
    assert "'users-to-crm'" in note
    assert "brand-new" not in note


def test_a_sync_moved_to_another_object_or_renamed_destination_notes_every_row_is_sent(
    write_project: WriteFiles, catalog: Catalog, settings: Settings, tmp_path: Path
) -> None:
    text = PROJECT.format(path=tmp_path / "crm.sqlite", timeout=5)
    _apply_text(write_project, catalog, settings, text)

    planned, applied = _apply_text(
        write_project, catalog, settings, text.replace("object: people", "object: folks")
    )
    assert planned.notes == applied.notes
    (note,) = applied.notes
    assert "sync 'users-to-crm' now writes object 'folks' (was 'people')" in note
    assert "its next run sends every row" in note
    assert "what it delivered to 'people' stays there" in note

    renamed = text.replace("object: people", "object: folks")
    renamed = renamed.replace("slug: crm\n", "slug: crm2\n").replace(": crm\n", ": crm2\n")
    planned, applied = _apply_text(write_project, catalog, settings, renamed)
    assert planned.notes == applied.notes
    (note,) = applied.notes
    assert "sync 'users-to-crm' now writes to destination 'crm2' (was 'crm')" in note
    assert "its next run sends every row" in note


def test_a_renamed_sync_notes_it_starts_afresh_and_an_insert_one_is_told_to_reset(
    write_project: WriteFiles, catalog: Catalog, settings: Settings, tmp_path: Path
) -> None:
    text = PROJECT.format(path=tmp_path / "crm.sqlite", timeout=5)
    text = text.replace("mode: mirror", "mode: insert")
    _apply_text(write_project, catalog, settings, text)

    planned, applied = _apply_text(
        write_project, catalog, settings, text.replace("users-to-crm", "users-to-crm-2")
    )

    assert [c.describe() for c in applied.changes] == [
        "create sync 'users-to-crm-2'",
        "delete sync 'users-to-crm'",
    ]
    assert planned.notes == applied.notes
    (note,) = applied.notes
    assert "sync 'users-to-crm-2' takes over object 'people' of destination 'crm'" in note
    assert "from 'users-to-crm', deleted with its run history" in note
    assert "its first run sends every row" in note
    assert "`syncline run users-to-crm-2 --reset-cdc`" in note


def test_an_insert_sync_on_a_renamed_destination_is_told_how_not_to_write_rows_twice(
    write_project: WriteFiles, catalog: Catalog, settings: Settings, tmp_path: Path
) -> None:
    text = PROJECT.format(path=tmp_path / "crm.sqlite", timeout=5)
    text = text.replace("mode: mirror", "mode: insert")
    _apply_text(write_project, catalog, settings, text)

    renamed = text.replace("slug: crm\n", "slug: crm2\n").replace(": crm\n", ": crm2\n")
    _, applied = _apply_text(write_project, catalog, settings, renamed)

    (note,) = applied.notes
    assert "now writes to destination 'crm2' (was 'crm')" in note
    assert "in mode 'insert' the rows already there are written again" in note
    assert "`syncline run users-to-crm --reset-cdc`" in note
