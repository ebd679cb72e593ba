"""Validate refuses destination field names a table destination would refuse at run time."""

from __future__ import annotations

from pathlib import Path

import pytest
from project_samples import VALID_SOURCES, WriteFiles

from syncline.connectors import registry
from syncline.errors import Problem, ValidationError
from syncline.project.loader import load_project
from syncline.project.sync_checks import check_configuration

REST = """
models:
  - slug: users
    source: wh
    primaryKey: id
    raw: {{sql: "SELECT 1 AS id"}}
destinations:
  - slug: out
    type: {kind}
    configuration: {configuration}
syncs:
  - slug: users-out
    model: users
    destination: out
    configuration:
      mode: upsert
      object: people
      mappings:
        - {{from: id, to: id}}
        - {{from: id, to: "Name"}}
        - {{from: id, to: "{second}"}}
"""

CONFIGURATIONS = {
    "mariadb": "{host: 127.0.0.1, user: root, database: crm}",
    "sqlite": "{path: /tmp/nowhere.sqlite}",
    "duckdb": "{path: /tmp/nowhere.duckdb}",
    "postgres": "{host: 127.0.0.1, user: postgres, database: crm}",
    "csv": "{directory: /tmp/nowhere}",
}


def load(write_project: WriteFiles, kind: str, second: str) -> Path:
    rest = REST.format(kind=kind, configuration=CONFIGURATIONS[kind], second=second)
    return write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})


def problems_of(root: Path) -> list[Problem]:
    with pytest.raises(ValidationError) as caught:
        load_project(root)
    return caught.value.problems


@pytest.mark.parametrize("kind", ["mariadb", "sqlite", "duckdb"])
def test_fields_differing_only_in_case_are_refused_where_case_is_ignored(
    write_project: WriteFiles, kind: str
) -> None:
    (problem,) = problems_of(load(write_project, kind, "name"))

    assert (problem.file, problem.line) == ("b.yml", 20)
    assert problem.location == "syncs[0].configuration.mappings[2].to"
    assert "fields 'Name' and 'name' differ only in letter case" in problem.message
    assert "rename one of them" in (problem.fix or "")


@pytest.mark.parametrize("kind", ["postgres", "csv"])
def test_fields_differing_only_in_case_are_kept_apart_where_case_counts(
    write_project: WriteFiles, kind: str
) -> None:
    project = load_project(load(write_project, kind, "name"))

    assert [m["to"] for m in project.syncs["users-out"].configuration["mappings"]] == [
        "id",
        "Name",
        "name",
    ]


def test_a_mariadb_field_ending_in_a_space_is_refused(write_project: WriteFiles) -> None:
    (problem,) = problems_of(load(write_project, "mariadb", "trailing "))

    assert (problem.file, problem.line) == ("b.yml", 20)
    assert problem.location == "syncs[0].configuration.mappings[2].to"
    assert "'trailing ' ends with a space" in problem.message
    assert problem.fix == "remove the trailing space from the field name"


def test_a_postgres_field_ending_in_a_space_is_accepted(write_project: WriteFiles) -> None:
    project = load_project(load(write_project, "postgres", "trailing "))

    assert project.syncs["users-out"].configuration["mappings"][2]["to"] == "trailing "


def test_the_api_checks_refuse_case_twins_and_trailing_spaces_too() -> None:
    raw = {
        "mode": "upsert",
        "object": "people",
        "externalIdMapping": {"from": "id", "to": "ID"},
        "mappings": [{"from": "a", "to": "id"}, {"from": "b", "to": "b "}],
    }

    _, problems = check_configuration(raw, registry.destination_class("mysql"))

    assert [p.location for p in problems] == [
        "configuration.mappings.1.to",
        "configuration.externalIdMapping.to",
    ]
    assert "ends with a space" in problems[0].message
    assert "fields 'id' and 'ID' differ only in letter case" in problems[1].message


@pytest.mark.parametrize(
    ("kind", "name", "limit"),
    [
        ("mariadb", "a" * 65, "is 65 characters long; MySQL and MariaDB take at most 64"),
        ("postgres", "é" * 32, "is 64 bytes long; PostgreSQL keeps only the first 63"),
    ],
)
def test_a_field_name_longer_than_the_database_keeps_is_refused(
    write_project: WriteFiles, kind: str, name: str, limit: str
) -> None:
    (problem,) = problems_of(load(write_project, kind, name))

    assert problem.location == "syncs[0].configuration.mappings[2].to"
    assert limit in problem.message
    assert problem.fix == "map it to a shorter field name"


def test_a_field_name_as_long_as_the_databases_take_is_accepted(
    write_project: WriteFiles,
) -> None:
    for kind, name in (("mariadb", "a" * 64), ("postgres", "a" * 63)):
        project = load_project(load(write_project, kind, name))
        assert project.syncs["users-out"].configuration["mappings"][2]["to"] == name


@pytest.mark.parametrize("kind", ["postgres", "sqlite", "csv"])
def test_a_field_name_of_spaces_only_is_refused(write_project: WriteFiles, kind: str) -> None:
    (problem,) = problems_of(load(write_project, kind, "  "))

    assert problem.location == "syncs[0].configuration.mappings[2].to"
    assert "only spaces" in problem.message
    assert problem.fix is not None


def test_the_api_checks_refuse_a_field_name_of_spaces_only() -> None:
    raw = {"mode": "upsert", "object": "people", "mappings": [{"from": "a", "to": " "}]}

    _, problems = check_configuration(raw, registry.destination_class("postgres"))

    assert [p.location for p in problems] == ["configuration.mappings.0.to"]
