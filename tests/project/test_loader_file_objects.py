"""Validation asks file destinations about their object names before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from project_samples import VALID_SOURCES, WriteFiles

from syncline.connectors import registry
from syncline.errors import ValidationError
from syncline.project.loader import load_project
from syncline.project.sync_checks import check_configuration

FILE_PROJECT = """
models:
  - slug: users
    source: wh
    primaryKey: id
    raw: {sql: "SELECT 1 AS id"}
destinations:
  - slug: exports
    type: csv
    configuration: {directory: /tmp/exports}
syncs:
  - slug: users-to-csv
    model: users
    destination: exports
    configuration: {mode: upsert, object: "OBJECT"}
"""


def load(write_project: WriteFiles, target: str) -> None:
    root = write_project(
        **{"a.yml": VALID_SOURCES, "b.yml": FILE_PROJECT.replace("OBJECT", target)}
    )
    load_project(root, env={})


@pytest.mark.parametrize("target", ["../../x.csv", "out_{day}.csv"])
def test_a_file_name_the_destination_refuses_is_a_problem_with_file_and_line(
    write_project: WriteFiles, target: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        load(write_project, target)

    [problem] = caught.value.problems
    assert problem.location.endswith("configuration.object")
    assert problem.file is not None
    assert Path(problem.file).name == "b.yml"
    assert problem.line == 14
    assert repr(target) in problem.message


@pytest.mark.parametrize("target", ["users.csv", "exports/users_{run_id}.csv"])
def test_file_names_inside_the_folder_are_valid(write_project: WriteFiles, target: str) -> None:
    load(write_project, target)


RESERVED_PROJECT = """
models:
  - slug: users
    source: wh
    primaryKey: id
    raw: {sql: "SELECT 1 AS id, 'x' AS op"}
destinations:
  - slug: exports
    type: TYPE
    configuration: CONFIG
syncs:
  - slug: users-out
    model: users
    destination: exports
    configuration:
      mode: upsert
      object: "OBJECT"
      mappings: [{from: id, to: id}, {from: op, to: FIELD}]
"""


@pytest.mark.parametrize(
    ("kind", "config", "target", "field"),
    [
        ("jsonl", "{directory: /tmp/exports}", "log_{run_id}.jsonl", "_syncline_operation"),
        ("csv", "{directory: /tmp/exports}", "log_{timestamp}.csv", "_SYNCLINE_OPERATION"),
        ("sqlite", "{path: /tmp/x.sqlite}", "users", "_syncline_row"),
        ("duckdb", "{path: /tmp/x.duckdb}", "users", "_syncline_rank"),
    ],
)
def test_a_field_the_destination_writes_itself_is_a_problem(
    write_project: WriteFiles, kind: str, config: str, target: str, field: str
) -> None:
    project = (
        RESERVED_PROJECT.replace("TYPE", kind)
        .replace("CONFIG", config)
        .replace("OBJECT", target)
        .replace("FIELD", field)
    )
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": project})

    with pytest.raises(ValidationError) as caught:
        load_project(root, env={})

    [problem] = caught.value.problems
    assert problem.location.endswith("configuration.mappings")
    assert f"field {field!r} is reserved" in problem.message
    assert problem.fix is not None
    assert "rename" in problem.fix
    assert problem.line == 17  # the mappings line


def test_a_maintained_file_may_have_a_field_named_like_the_operation(
    write_project: WriteFiles,
) -> None:
    project = (
        RESERVED_PROJECT.replace("TYPE", "jsonl")
        .replace("CONFIG", "{directory: /tmp/exports}")
        .replace("OBJECT", "users.jsonl")
        .replace("FIELD", "_syncline_operation")
    )
    load_project(write_project(**{"a.yml": VALID_SOURCES, "b.yml": project}), env={})


def test_the_api_check_finds_a_reserved_model_column_of_a_sync_without_mappings() -> None:
    raw = {"mode": "upsert", "object": "log_{run_id}.jsonl"}
    jsonl = registry.destination_class("jsonl")

    _, found = check_configuration(raw, jsonl, columns=["id", "_syncline_operation"])
    _, unknown_columns = check_configuration(raw, jsonl)

    [problem] = found
    assert problem.location == "configuration.mappings"
    assert "field '_syncline_operation' is reserved" in problem.message
    assert unknown_columns == []


TWO_SYNCS = """
models:
  - slug: users
    source: wh
    primaryKey: id
    raw: {sql: "SELECT 1 AS id"}
destinations:
  - slug: first
    type: csv
    configuration: {directory: FIRST}
  - slug: second
    type: csv
    configuration: {directory: SECOND}
syncs:
  - slug: one
    model: users
    destination: first
    configuration: {mode: upsert, object: "OBJECT"}
  - slug: two
    model: users
    destination: DESTINATION
    configuration: {mode: upsert, object: "OBJECT"}
"""


def _shared_warnings(
    write_project: WriteFiles, first: str, second: str, destination: str, target: str
) -> list[str]:
    project = TWO_SYNCS.replace("FIRST", first).replace("SECOND", second)
    project = project.replace("DESTINATION", destination).replace("OBJECT", target)
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": project})
    loaded = load_project(root, env={})
    return [w.message for w in loaded.warnings if "all write" in w.message]


def test_two_destinations_of_one_folder_writing_one_file_get_a_warning(
    write_project: WriteFiles, tmp_path: Path
) -> None:
    folder = tmp_path / "out" / "csv"
    spelled = f"{tmp_path}/out/./csv/"

    [warning] = _shared_warnings(write_project, str(folder), spelled, "second", "m.csv")

    assert "'one', 'two' all write" in warning
    assert str(folder / "m.csv") in warning


@pytest.mark.parametrize("target", ["nh_{sync_id}.tsv", "log_{run_id}.csv", "ts_{timestamp}.csv"])
def test_syncs_whose_file_names_differ_by_sync_or_run_get_no_warning(
    write_project: WriteFiles, tmp_path: Path, target: str
) -> None:
    folder = str(tmp_path / "out")

    assert _shared_warnings(write_project, folder, folder, "first", target) == []
