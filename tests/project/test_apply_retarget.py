"""Applying a destination that points elsewhere starts its syncs afresh, and says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from project_samples import VALID_SOURCES, WriteFiles

from syncline.catalog import Catalog
from syncline.engine.planner.store import snapshot_path
from syncline.project.apply import apply_project, plan_project
from syncline.project.loader import load_project
from syncline.security.secrets import SecretBox
from syncline.settings import Settings

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


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


@pytest.fixture
def catalog(settings: Settings) -> Iterator[Catalog]:
    opened = Catalog.from_url(settings.catalog_url, secrets=SecretBox(Fernet.generate_key()))
    yield opened
    opened.close()


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
    import duckdb

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
