"""Validate refuses what apply or a run would refuse later: workspace, mode per object, key."""

from __future__ import annotations

from pathlib import Path

import pytest
from project_samples import VALID_REST, VALID_SOURCES, WriteFiles

from syncline.connectors import registry
from syncline.errors import Problem, ValidationError
from syncline.project.loader import load_project
from syncline.project.sync_checks import check_configuration

ENV = {"CRM_PASSWORD": "hunter2"}

CSV_REST = """
models:
  - slug: users
    source: wh
    primaryKey: id
    raw: {sql: "SELECT 1 AS id"}
destinations:
  - slug: exports
    type: csv
    configuration: {directory: /tmp/nowhere}
syncs:
  - slug: users-to-csv
    model: users
    destination: exports
    configuration:
      mode: update
      object: "users-{run_id}.csv"
      mappings: [{from: id, to: id}]
"""


def problems_of(root: Path) -> list[Problem]:
    with pytest.raises(ValidationError) as caught:
        load_project(root, env=ENV)
    return caught.value.problems


@pytest.mark.parametrize("workspace", ["Bad Name!", "-leading", "x" * 256])
def test_a_workspace_the_catalog_would_refuse_is_a_problem(
    write_project: WriteFiles, workspace: str
) -> None:
    root = write_project(
        **{
            "syncline.yml": f"# settings\nworkspace: '{workspace}'\n",
            "a.yml": VALID_SOURCES,
            "b.yml": VALID_REST,
        }
    )

    (problem,) = problems_of(root)

    assert (problem.file, problem.line, problem.location) == ("syncline.yml", 2, "workspace")
    assert f"the workspace {workspace!r} is not a valid workspace slug" in problem.message
    assert "letters, digits" in (problem.fix or "")


def test_a_workspace_with_capitals_and_dots_is_accepted(write_project: WriteFiles) -> None:
    root = write_project(
        **{"syncline.yml": "workspace: Team.A_1\n", "a.yml": VALID_SOURCES, "b.yml": VALID_REST}
    )

    assert load_project(root, env=ENV).workspace == "Team.A_1"


def test_a_workspace_yaml_reads_as_a_number_is_told_to_be_quoted(
    write_project: WriteFiles,
) -> None:
    root = write_project(
        **{"syncline.yml": "workspace: 123\n", "a.yml": VALID_SOURCES, "b.yml": VALID_REST}
    )

    (problem,) = problems_of(root)

    assert problem.location == "workspace"
    assert "reads 123 as a number" in problem.message
    assert "quote it" in (problem.fix or "")
    assert 'workspace: "123"' in (problem.fix or "")


def test_update_into_a_file_written_anew_each_run_is_refused(write_project: WriteFiles) -> None:
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": CSV_REST})

    (problem,) = problems_of(root)

    assert (problem.file, problem.line) == ("b.yml", 15)
    assert problem.location == "syncs[0].configuration.mode"
    assert "mode 'update' needs a maintained file" in problem.message
    assert "'users-{run_id}.csv' names a new file per run" in problem.message
    assert problem.fix == ("remove {run_id} and {timestamp} from the name or choose mode 'upsert'")


@pytest.mark.parametrize(
    ("mode", "target"),
    [("update", "users.csv"), ("upsert", "users-{run_id}.csv"), ("all", "{timestamp}.csv")],
)
def test_modes_a_file_can_take_are_accepted(
    write_project: WriteFiles, mode: str, target: str
) -> None:
    text = CSV_REST.replace("mode: update", f"mode: {mode}")
    text = text.replace('"users-{run_id}.csv"', f'"{target}"')
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": text})

    assert load_project(root, env=ENV).syncs["users-to-csv"].configuration["mode"] == mode


def test_the_api_checks_refuse_update_into_a_per_run_file_too() -> None:
    raw = {"mode": "update", "object": "x-{run_id}.csv", "mappings": [{"from": "id", "to": "id"}]}

    parsed, problems = check_configuration(raw, registry.destination_class("csv"))

    assert parsed is not None
    [problem] = problems
    assert problem.location == "configuration.mode"
    assert "needs a maintained file" in problem.message
    assert problem.fix


def test_a_list_of_primary_key_columns_is_refused_with_a_fix(write_project: WriteFiles) -> None:
    rest = VALID_REST.replace("primaryKey: id", "primaryKey: [id, name]")
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    (problem,) = problems_of(root)

    assert (problem.file, problem.line, problem.location) == ("b.yml", 4, "models[0].primaryKey")
    assert "one column, not a list" in problem.message
    assert "AS key" in (problem.fix or "")
    assert "Fix:" in problem.render()


@pytest.mark.parametrize("value", ["''", "3", "{a: b}"])
def test_a_primary_key_that_is_no_column_name_has_a_fix(
    write_project: WriteFiles, value: str
) -> None:
    rest = VALID_REST.replace("primaryKey: id", f"primaryKey: {value}")
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    (problem,) = problems_of(root)

    assert problem.location == "models[0].primaryKey"
    assert problem.fix == "e.g. primaryKey: id"


def test_a_template_with_an_unknown_filter_is_a_located_problem(write_project: WriteFiles) -> None:
    rest = VALID_REST.replace(
        "mappings: [{from: id, to: id}]",
        "mappings: [{type: template, template: '{{ id | nosuchfilter }}', to: label}]",
    )
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    (problem,) = problems_of(root)

    assert (problem.file, problem.line) == ("b.yml", 17)
    assert problem.location == "syncs[0].configuration.mappings[0].template"
    assert "the template of field 'label' is not valid" in problem.message
    assert "No filter named 'nosuchfilter'" in problem.message
    assert "upper" in (problem.fix or "")


@pytest.mark.parametrize(
    ("template", "named"),
    [
        ("{% if id is nosuchtest %}y{% endif %}", "test 'nosuchtest'"),
        ("{{ id | upper if id is defined else id | nosuchfilter }}", "filter 'nosuchfilter'"),
    ],
)
def test_an_unknown_filter_or_test_inside_a_condition_is_a_problem_too(
    template: str, named: str
) -> None:
    # Jinja2 looks these up only when it renders that branch, after every row was sent.
    raw = {
        "mode": "upsert",
        "object": "people",
        "mappings": [{"type": "template", "template": template, "to": "x"}],
    }

    _, problems = check_configuration(raw, None)

    [problem] = problems
    assert problem.location == "configuration.mappings.0.template"
    assert named in problem.message


def test_the_api_checks_refuse_an_unknown_filter_too() -> None:
    raw = {
        "mode": "upsert",
        "object": "people",
        "mappings": [{"type": "template", "template": "{{ id is nosuchtest }}", "to": "x"}],
    }

    parsed, problems = check_configuration(raw, None)

    assert parsed is not None
    [problem] = problems
    assert problem.location == "configuration.mappings.0.template"
    assert "No test named 'nosuchtest'" in problem.message


@pytest.mark.parametrize("target", ["sub/", "sub/.", "./"])
def test_an_object_naming_a_folder_is_refused_with_a_file_name_to_write(
    write_project: WriteFiles, target: str
) -> None:
    rest = CSV_REST.replace("mode: update", "mode: upsert")
    rest = rest.replace('object: "users-{run_id}.csv"', f'object: "{target}"')
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    [problem] = problems_of(root)

    assert (problem.line, problem.location) == (16, "syncs[0].configuration.object")
    assert problem.message == f"file name {target!r} names a folder, not a file"
    assert problem.fix is not None
    assert "/users.csv" in problem.fix


def test_a_mapping_writing_the_external_id_field_is_refused_at_the_mapping(
    write_project: WriteFiles,
) -> None:
    rest = VALID_REST.replace(
        "mappings: [{from: id, to: id}]",
        "externalIdMapping: {from: id, to: key}\n      mappings: [{from: id, to: a}, "
        "{type: static, value: 1, to: key}]",
    )
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    [problem] = problems_of(root)

    assert (problem.line, problem.location) == (18, "syncs[0].configuration.mappings[1].to")
    assert "field 'key' identifies destination records" in problem.message
    assert problem.fix == "remove that mapping or change externalIdMapping"


def test_a_mapping_writing_the_primary_key_field_from_another_column_is_refused(
    write_project: WriteFiles,
) -> None:
    rest = VALID_REST.replace("SELECT 1 AS id", "SELECT 1 AS id, 'x' AS name")
    rest = rest.replace("[{from: id, to: id}]", "[{from: name, to: id}]")
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    [problem] = problems_of(root)

    assert problem.location == "syncs[0].configuration.mappings[0].to"
    assert "field 'id' identifies destination records and is written from column 'id'" in (
        problem.message
    )


def test_the_api_checks_refuse_a_second_writer_of_the_id_field_too() -> None:
    raw = {"mode": "upsert", "object": "people", "mappings": [{"from": "name", "to": "id"}]}

    _, problems = check_configuration(raw, registry.destination_class("csv"), primary_key="id")

    [problem] = problems
    assert problem.location == "configuration.mappings.0.to"
    assert problem.fix == "remove that mapping or change externalIdMapping"


def test_a_table_a_sync_may_not_create_must_exist_in_a_local_sqlite_file(
    write_project: WriteFiles, tmp_path: Path
) -> None:
    import sqlite3

    path = tmp_path / "crm.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE contacts (id INTEGER)")
    connection.close()
    rest = VALID_REST.replace("type: pretend", "type: sqlite").replace(
        '{host: localhost, password: "${CRM_PASSWORD}"}', f"{{path: {path}}}"
    )
    missing = rest.replace("object: people", "object: people\n      createObject: false")
    present = missing.replace("object: people", "object: contacts")
    created = rest  # createObject is true by default: the run creates the table

    [problem] = problems_of(write_project(**{"a.yml": VALID_SOURCES, "b.yml": missing}))
    for fine in (present, created):
        load_project(write_project(**{"a.yml": VALID_SOURCES, "b.yml": fine}), env=ENV)

    assert (problem.line, problem.location) == (17, "syncs[0].configuration.createObject")
    assert f"table 'people' does not exist in the sqlite file '{path}'" in problem.message
    assert problem.fix is not None
    assert "set createObject: true" in problem.fix
