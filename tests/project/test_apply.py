"""Plan and apply against a real catalog: create, idempotent re-apply, changes, deletes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from project_samples import VALID_REST, VALID_SOURCES, WriteFiles

from syncline.catalog import Catalog, ConflictError
from syncline.errors import ValidationError
from syncline.project.apply import apply_project, plan_project
from syncline.project.loader import load_project
from syncline.project.plan import Action, Plan
from syncline.settings import Settings

ENV = {"CRM_PASSWORD": "hunter2"}


def described(plan: Plan) -> list[str]:
    return [change.describe() for change in plan.changes]


def test_apply_creates_everything_then_a_second_apply_changes_nothing(
    write_project: WriteFiles, catalog: Catalog, settings: Settings
) -> None:
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": VALID_REST})
    project = load_project(root, env=ENV)

    first = apply_project(catalog, project, settings)

    assert described(first) == [
        "create source 'wh'",
        "create destination 'crm'",
        "create model 'users'",
        "create sync 'users-to-crm'",
    ]
    with catalog.session(read_only=True) as session:
        sync = session.to_api(session.syncs.get("users-to-crm"))
        assert sync["primaryKey"] == "id"
        assert sync["referencedColumns"] == ["id"]
        assert sync["configuration"]["mode"] == "upsert"
        crm = session.destinations.get("crm")
        assert session.destinations.plain_configuration(crm)["password"] == "hunter2"
    assert plan_project(catalog, project, settings).empty
    assert apply_project(catalog, project, settings).empty


def test_changes_name_the_fields_and_hide_secret_values(
    write_project: WriteFiles, catalog: Catalog, settings: Settings
) -> None:
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": VALID_REST})
    apply_project(catalog, load_project(root, env=ENV), settings)

    rest = VALID_REST.replace("mode: upsert", "mode: insert").replace("SELECT 1", "SELECT 2")
    (root / "b.yml").write_text(rest.lstrip("\n"))
    changed = load_project(root, env={"CRM_PASSWORD": "correct-horse"})
    plan = plan_project(catalog, changed, settings)

    assert described(plan) == [
        "change destination 'crm': configuration.password (secret)",
        "change model 'users': sql",
        "change sync 'users-to-crm': configuration.mode",
    ]
    assert all("correct-horse" not in line for line in described(plan))

    apply_project(catalog, changed, settings)
    assert plan_project(catalog, changed, settings).empty
    with catalog.session(read_only=True) as session:
        assert session.models.get("users").sql == "SELECT 2 AS id"
        assert session.syncs.get("users-to-crm").configuration["mode"] == "insert"


def test_only_resources_the_project_created_are_deleted(
    write_project: WriteFiles, catalog: Catalog, settings: Settings
) -> None:
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": VALID_REST})
    apply_project(catalog, load_project(root, env=ENV), settings)
    with catalog.session() as session:
        session.syncs.create(
            slug="made-by-hand", model="users", destination="crm",
            configuration={"mode": "upsert", "object": "other"},
        )  # fmt: skip

    syncs_start = VALID_REST.index("syncs:")
    (root / "b.yml").write_text(VALID_REST[:syncs_start].lstrip("\n"))
    plan = apply_project(catalog, load_project(root, env=ENV), settings)

    assert [(c.action, c.kind, c.slug) for c in plan.changes] == [
        (Action.DELETE, "syncs", "users-to-crm")
    ]
    with catalog.session(read_only=True) as session:
        assert [s.slug for s in session.syncs.list()] == ["made-by-hand"]


def test_what_a_project_manages_is_shared_by_every_machine_using_the_catalog(
    write_project: WriteFiles, catalog: Catalog, tmp_path: Path
) -> None:
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": VALID_REST})
    apply_project(catalog, load_project(root, env=ENV), Settings(home=tmp_path / "machine-a"))

    syncs_start = VALID_REST.index("syncs:")
    (root / "b.yml").write_text(VALID_REST[:syncs_start].lstrip("\n"))
    other_machine = Settings(home=tmp_path / "machine-b")
    plan = apply_project(catalog, load_project(root, env=ENV), other_machine)

    assert [(c.action, c.kind, c.slug) for c in plan.changes] == [
        (Action.DELETE, "syncs", "users-to-crm")
    ]
    assert not (tmp_path / "machine-b" / "projects").exists()


def test_a_model_can_move_to_another_source(
    write_project: WriteFiles, catalog: Catalog, settings: Settings
) -> None:
    two_sources = VALID_SOURCES + "  - slug: other\n    type: duckdb\n    configuration: {}\n"
    root = write_project(**{"a.yml": two_sources, "b.yml": VALID_REST})
    apply_project(catalog, load_project(root, env=ENV), settings)

    moved = VALID_REST.replace("source: wh", "source: other").replace("raw: ", "table: ")
    moved = moved.replace('{sql: "SELECT 1 AS id"}', "{name: users}")
    (root / "b.yml").write_text(moved.lstrip("\n"))
    plan = apply_project(catalog, load_project(root, env=ENV), settings)

    assert described(plan) == ["change model 'users': queryType, source, sql, table"]
    with catalog.session(read_only=True) as session:
        api = session.to_api(session.models.get("users"))
        assert (api["queryType"], api["table"], api.get("raw")) == (
            "table",
            {"name": "users"},
            None,
        )
        assert api["sourceId"] == session.sources.get("other").id


def test_a_connector_type_change_is_refused(
    write_project: WriteFiles, catalog: Catalog, settings: Settings
) -> None:
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": VALID_REST})
    apply_project(catalog, load_project(root, env=ENV), settings)

    (root / "a.yml").write_text(VALID_SOURCES.replace("type: duckdb", "type: sqlite").lstrip())
    (root / "a.yml").write_text((root / "a.yml").read_text().replace("/tmp/nowhere.duckdb", "x"))

    with pytest.raises(ValidationError, match="cannot change type from 'duckdb' to 'sqlite'") as e:
        apply_project(catalog, load_project(root, env=ENV), settings)
    assert e.value.problems[0].file == "a.yml"
    assert e.value.problems[0].line == 2


ALIASED = """
sources:
  - slug: pg
    type: {type}
    configuration: {{host: 127.0.0.1, user: postgres, database: postgres}}
"""


def test_a_connector_type_is_kept_as_written_and_may_switch_to_another_name(
    write_project: WriteFiles, catalog: Catalog, settings: Settings
) -> None:
    root = write_project(**{"a.yml": ALIASED.format(type="PostgreSQL")})
    apply_project(catalog, load_project(root, env=ENV), settings)
    with catalog.session(read_only=True) as session:
        assert session.sources.get("pg").type == "postgresql"

    (root / "a.yml").write_text(ALIASED.format(type="postgres").lstrip())
    project = load_project(root, env=ENV)
    assert described(plan_project(catalog, project, settings)) == ["change source 'pg': type"]
    apply_project(catalog, project, settings)

    assert plan_project(catalog, project, settings).empty
    with catalog.session(read_only=True) as session:
        assert session.sources.get("pg").type == "postgres"


def test_the_project_workspace_is_created_and_used(
    write_project: WriteFiles, catalog: Catalog, settings: Settings
) -> None:
    root = write_project(
        **{"syncline.yml": "workspace: analytics\n", "a.yml": VALID_SOURCES, "b.yml": VALID_REST}
    )

    apply_project(catalog, load_project(root, env=ENV), settings)

    with catalog.session("analytics", read_only=True) as session:
        assert [s.slug for s in session.syncs.list()] == ["users-to-crm"]
    with catalog.session(read_only=True) as session:
        assert session.syncs.list() == []


def test_a_secret_removed_from_the_project_file_is_removed_by_apply(
    write_project: WriteFiles, catalog: Catalog, settings: Settings
) -> None:
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": VALID_REST})
    apply_project(catalog, load_project(root, env=ENV), settings)

    without = VALID_REST.replace(', password: "${CRM_PASSWORD}"', "")
    (root / "b.yml").write_text(without.lstrip("\n"))
    project = load_project(root, env={})

    assert described(plan_project(catalog, project, settings)) == [
        "change destination 'crm': configuration.password (secret)"
    ]
    apply_project(catalog, project, settings)

    assert plan_project(catalog, project, settings).empty
    with catalog.session(read_only=True) as session:
        crm = session.destinations.get("crm")
        assert "password" not in session.destinations.plain_configuration(crm)


def test_the_api_update_still_keeps_secrets_it_leaves_out(
    write_project: WriteFiles, catalog: Catalog, settings: Settings
) -> None:
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": VALID_REST})
    apply_project(catalog, load_project(root, env=ENV), settings)

    with catalog.session() as session:
        session.destinations.update("crm", configuration={"host": "elsewhere"})
    with catalog.session(read_only=True) as session:
        crm = session.destinations.get("crm")
        assert session.destinations.plain_configuration(crm)["password"] == "hunter2"


def _refusal(call: Callable[[], object]) -> str:
    with pytest.raises(ConflictError) as caught:
        call()
    return str(caught.value)


def test_plan_refuses_to_delete_a_destination_another_sync_uses_as_apply_does(
    write_project: WriteFiles, catalog: Catalog, settings: Settings
) -> None:
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": VALID_REST})
    apply_project(catalog, load_project(root, env=ENV), settings)
    with catalog.session() as session:
        session.syncs.create(
            slug="api-sync", model="users", destination="crm",
            configuration={"mode": "upsert", "object": "other"},
        )  # fmt: skip
    (root / "b.yml").write_text(VALID_REST[: VALID_REST.index("destinations:")].lstrip("\n"))
    project = load_project(root, env=ENV)

    planned = _refusal(lambda: plan_project(catalog, project, settings))

    assert planned == _refusal(lambda: apply_project(catalog, project, settings))
    assert "destination 'crm' is used by syncs api-sync" in planned


def test_plan_refuses_to_delete_a_sync_whose_run_is_in_progress_as_apply_does(
    write_project: WriteFiles, catalog: Catalog, settings: Settings
) -> None:
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": VALID_REST})
    apply_project(catalog, load_project(root, env=ENV), settings)
    with catalog.session() as session:
        session.runs.enqueue(session.syncs.get("users-to-crm").id)
        run = session.runs.claim("w")
        assert run is not None
    (root / "b.yml").write_text(VALID_REST[: VALID_REST.index("syncs:")].lstrip("\n"))
    project = load_project(root, env=ENV)

    planned = _refusal(lambda: plan_project(catalog, project, settings))

    assert planned == _refusal(lambda: apply_project(catalog, project, settings))
    assert f"sync 'users-to-crm' has run {run.id} in progress" in planned


_TWO_COLUMNS = VALID_REST.replace('"SELECT 1 AS id"', '"SELECT 1 AS id, 2 AS k"')
_SECOND_MODEL = _TWO_COLUMNS.replace(
    "destinations:",
    "  - {slug: users2, source: wh, primaryKey: id, raw: {sql: 'SELECT 1 AS id'}}\n"
    "destinations:\n  - {slug: crm2, type: pretend, configuration: {host: localhost}}",
    1,
)


@pytest.mark.parametrize(
    ("changed", "what"),
    [
        (_SECOND_MODEL.replace("object: people", "object: folks"), "object"),
        (_SECOND_MODEL.replace("primaryKey: id\n", "primaryKey: k\n", 1), "primary key"),
        (_SECOND_MODEL.replace("    model: users\n", "    model: users2\n"), "model"),
        (_SECOND_MODEL.replace("destination: crm\n", "destination: crm2\n"), "destination"),
    ],
    ids=["object", "primary-key", "model", "destination"],
)
def test_plan_refuses_a_restart_while_a_run_is_in_progress_as_apply_does(
    write_project: WriteFiles, catalog: Catalog, settings: Settings, changed: str, what: str
) -> None:
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": _SECOND_MODEL})
    apply_project(catalog, load_project(root, env=ENV), settings)
    with catalog.session() as session:
        session.runs.enqueue(session.syncs.get("users-to-crm").id)
        run = session.runs.claim("w")
        assert run is not None
    (root / "b.yml").write_text(changed)
    project = load_project(root, env=ENV)

    planned = _refusal(lambda: plan_project(catalog, project, settings))

    assert planned == _refusal(lambda: apply_project(catalog, project, settings))
    assert f"sync 'users-to-crm' has run {run.id} in progress" in planned
    assert f"applying the project's new {what} for it" in planned


def test_plan_deletes_a_destination_whose_syncs_the_project_deletes_or_moves(
    write_project: WriteFiles, catalog: Catalog, settings: Settings
) -> None:
    start, end = VALID_REST.index("  - slug: crm"), VALID_REST.index("syncs:")
    second = VALID_REST[start:end].replace("slug: crm", "slug: crm2")
    rest = VALID_REST.replace("syncs:", second + "syncs:")
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})
    apply_project(catalog, load_project(root, env=ENV), settings)

    moved = rest.replace(VALID_REST[start:end], "").replace("destination: crm", "destination: crm2")
    (root / "b.yml").write_text(moved.lstrip("\n"))
    project = load_project(root, env=ENV)

    assert described(plan_project(catalog, project, settings)) == [
        "change sync 'users-to-crm': destination",
        "delete destination 'crm'",
    ]
    apply_project(catalog, project, settings)


def test_a_project_moved_to_another_workspace_notes_what_the_old_one_keeps(
    write_project: WriteFiles, catalog: Catalog, settings: Settings
) -> None:
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": VALID_REST})
    apply_project(catalog, load_project(root, env=ENV), settings)

    (root / "syncline.yml").write_text("workspace: analytics\n")
    project = load_project(root, env=ENV)
    planned = plan_project(catalog, project, settings)
    applied = apply_project(catalog, project, settings)

    assert planned.notes == applied.notes
    (note,) = applied.notes
    assert "workspace 'default' still holds sync 'users-to-crm'" in note
    assert "an earlier apply of this project" in note
    assert "schedules" in note
    assert plan_project(catalog, project, settings).notes == [], "said once, on the move"

    # As the note says: a folder holding only the settings file deletes them there.
    empty = root.parent / "empty"
    empty.mkdir()
    (empty / "syncline.yml").write_text("workspace: default\n")
    apply_project(catalog, load_project(empty, env=ENV), settings)
    with catalog.session(read_only=True) as session:
        assert session.syncs.list() == []


def test_a_project_in_its_own_workspace_is_no_move_of_a_namesake_elsewhere(
    write_project: WriteFiles, catalog: Catalog, settings: Settings
) -> None:
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": VALID_REST})
    apply_project(catalog, load_project(root, env=ENV), settings)

    elsewhere = VALID_REST.replace("host: localhost", "host: other-host")
    (root / "syncline.yml").write_text("workspace: analytics\n")
    (root / "b.yml").write_text(elsewhere.lstrip("\n"))
    sources = VALID_SOURCES.replace("/tmp/nowhere.duckdb", "/tmp/elsewhere.duckdb")
    (root / "a.yml").write_text(sources.lstrip("\n"))

    assert plan_project(catalog, load_project(root, env=ENV), settings).notes == []


def test_plan_notes_name_a_variable_instead_of_showing_its_value(
    write_project: WriteFiles, catalog: Catalog, settings: Settings
) -> None:
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": VALID_REST})
    apply_project(catalog, load_project(root, env=ENV), settings)

    (root / "b.yml").write_text(VALID_REST.replace("primaryKey: id", 'primaryKey: "${PK}"'))
    plan = plan_project(catalog, load_project(root, env={**ENV, "PK": "Zq9SECRETkey"}), settings)

    shown = [*plan.notes, *(w.render() for w in plan.warnings)]
    assert any("${PK}" in line for line in shown), shown
    assert not any("Zq9SECRETkey" in line for line in shown), shown
