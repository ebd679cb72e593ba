"""Applying a sync's new mode or delete behaviour: what plan and apply say of the rows the
old setting did not send, and the command they name levels the destination."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

import duckdb
import pytest
from project_samples import WriteFiles

from syncline.catalog import Catalog
from syncline.engine.planner.store import strays_note
from syncline.project.apply import apply_project, plan_project
from syncline.project.loader import load_project
from syncline.project.plan import Plan
from syncline.settings import Settings
from syncline.worker.execute import run_sync

PROJECT = """
sources:
  - slug: wh
    type: duckdb
    configuration: {{path: {warehouse}}}
models:
  - slug: items
    source: wh
    primaryKey: id
    raw: {{sql: "SELECT id, v FROM items"}}
destinations:
  - slug: crm
    type: sqlite
    configuration: {{path: {crm}}}
syncs:
  - slug: items-to-crm
    model: items
    destination: crm
    configuration: {{mode: {mode}, object: items_t{behavior}}}
"""


@pytest.fixture
def apply(
    write_project: WriteFiles, catalog: Catalog, settings: Settings
) -> Callable[..., tuple[Plan, Plan]]:
    """Plans then applies the project with the sync in ``mode`` (and ``behavior``)."""
    folder = settings.home / "files"
    folder.mkdir(parents=True)
    paths = {"warehouse": folder / "wh.duckdb", "crm": folder / "crm.sqlite"}
    with duckdb.connect(str(paths["warehouse"])) as connection:
        connection.execute("CREATE TABLE items AS SELECT range AS id, 'old' AS v FROM range(1, 4)")

    def plan_and_apply(mode: str, behavior: str | None = None) -> tuple[Plan, Plan]:
        extra = f", deleteBehavior: {behavior}" if behavior else ""
        text = PROJECT.format(mode=mode, behavior=extra, **paths)
        project = load_project(write_project(**{"project.yml": text}))
        return plan_project(catalog, project, settings), apply_project(catalog, project, settings)

    return plan_and_apply


def _change_source(settings: Settings) -> None:
    """Delete row 1, add row 4, change row 3."""
    with duckdb.connect(str(settings.home / "files" / "wh.duckdb")) as connection:
        connection.execute("DELETE FROM items WHERE id = 1")
        connection.execute("INSERT INTO items VALUES (4, 'old')")
        connection.execute("UPDATE items SET v = 'new' WHERE id = 3")


def _run(catalog: Catalog, settings: Settings, **flags: bool) -> tuple[int, int, int]:
    run = run_sync(catalog, "items-to-crm", settings=settings, **flags)
    assert run["status"] == "success", run["error"]
    planned = run["plannedRows"]
    return planned["addedCount"], planned["changedCount"], planned["removedCount"]


def _delivered(settings: Settings) -> list[tuple[int, str]]:
    with sqlite3.connect(settings.home / "files" / "crm.sqlite") as connection:
        return list(connection.execute("SELECT id, v FROM items_t ORDER BY id"))


def test_insert_back_to_mirror_warns_and_clear_and_fill_levels_the_destination(
    apply: Callable[..., tuple[Plan, Plan]],
    catalog: Catalog,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    apply("mirror")
    assert _run(catalog, settings) == (3, 0, 0)
    apply("insert")
    _change_source(settings)
    assert _run(catalog, settings) == (1, 0, 0), "insert sends only the added row"

    planned, applied = apply("mirror")

    assert [c.describe() for c in applied.changes] == [
        "change sync 'items-to-crm': configuration.mode"
    ]
    assert planned.warnings == applied.warnings
    (warning,) = applied.warnings
    assert warning.location == "syncs.items-to-crm"
    assert (warning.file, warning.line) == ("project.yml", 15)
    assert "mode 'mirror' (was 'insert')" in warning.message
    assert "rows changed or removed while it was 'insert' were not sent" in warning.message
    assert "`syncline run items-to-crm --clear-and-fill`" in (warning.fix or "")
    # The run alone sees nothing to do: the stale records stay until the command named,
    # and every run repeats the warning until then.
    with catalog.session(read_only=True) as session:
        sync_id = session.syncs.get("items-to-crm").id
    with caplog.at_level(logging.WARNING, logger="syncline.engine.run"):
        assert _run(catalog, settings) == (0, 0, 0)
    assert any(warning.message in record.getMessage() for record in caplog.records)
    assert _delivered(settings) == [(1, "old"), (2, "old"), (3, "old"), (4, "old")]
    _run(catalog, settings, clear_and_fill=True)
    assert _delivered(settings) == [(2, "old"), (3, "new"), (4, "old")]
    assert strays_note(settings.snapshot_dir, sync_id) is None


def test_a_delete_behavior_added_later_warns_of_the_rows_removed_before(
    apply: Callable[..., tuple[Plan, Plan]], catalog: Catalog, settings: Settings
) -> None:
    apply("upsert")
    assert _run(catalog, settings) == (3, 0, 0)
    _change_source(settings)
    assert _run(catalog, settings) == (1, 1, 0), "the removed row is not sent"

    planned, applied = apply("upsert", "delete")

    (warning,) = applied.warnings
    assert planned.warnings == applied.warnings
    assert "deleteBehavior 'delete' (was 'nothing')" in warning.message
    assert "rows removed while it was 'nothing' were not" in warning.message
    assert "--clear-and-fill" in (warning.fix or "")
    _run(catalog, settings, clear_and_fill=True)
    assert _delivered(settings) == [(2, "old"), (3, "new"), (4, "old")]


def test_insert_to_upsert_names_a_full_resync_for_the_changed_rows(
    apply: Callable[..., tuple[Plan, Plan]], catalog: Catalog, settings: Settings
) -> None:
    apply("insert")
    assert _run(catalog, settings) == (3, 0, 0)
    _change_source(settings)
    _run(catalog, settings)

    _, applied = apply("upsert")

    (warning,) = applied.warnings
    assert "rows changed while it was 'insert' were not sent" in warning.message
    assert "`syncline run items-to-crm --full-resync`" in (warning.fix or "")
    _run(catalog, settings, full_resync=True)
    assert _delivered(settings) == [(1, "old"), (2, "old"), (3, "new"), (4, "old")]


def test_a_mode_that_sends_no_more_than_before_is_applied_without_warning(
    apply: Callable[..., tuple[Plan, Plan]], catalog: Catalog, settings: Settings
) -> None:
    apply("mirror")
    for mode, behavior in (("upsert", "delete"), ("mirror", None), ("insert", None)):
        planned, applied = apply(mode, behavior)
        assert planned.warnings == applied.warnings == [], mode


def test_a_renamed_sync_that_now_removes_records_warns_of_those_the_old_one_left(
    apply: Callable[..., tuple[Plan, Plan]],
    write_project: WriteFiles,
    catalog: Catalog,
    settings: Settings,
) -> None:
    apply("upsert")
    assert _run(catalog, settings) == (3, 0, 0)
    _change_source(settings)
    assert _run(catalog, settings) == (1, 1, 0), "upsert keeps the removed row's record"
    folder = settings.home / "files"
    text = PROJECT.format(
        mode="mirror", behavior="", warehouse=folder / "wh.duckdb", crm=folder / "crm.sqlite"
    ).replace("slug: items-to-crm", "slug: items-v2")
    project = load_project(write_project(**{"project.yml": text}))

    planned = plan_project(catalog, project, settings)
    applied = apply_project(catalog, project, settings)

    assert planned.warnings == applied.warnings
    (warning,) = applied.warnings
    assert warning.location == "syncs.items-v2"
    assert "takes over object 'items_t' from 'items-to-crm'" in warning.message
    assert "mode 'mirror' (was 'upsert')" in warning.message
    assert "records of rows removed while 'items-to-crm' ran are not removed" in warning.message
    assert "`syncline run items-v2 --clear-and-fill`" in (warning.fix or "")
    run = run_sync(catalog, "items-v2", settings=settings, clear_and_fill=True)
    assert run["status"] == "success", run["error"]
    assert _delivered(settings) == [(2, "old"), (3, "new"), (4, "old")]
