"""Validate checks keys and mappings against a model's columns when a local file tells them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pytest
from project_samples import WriteFiles

from syncline.errors import Problem, ValidationError
from syncline.project.loader import load_project

PROJECT = """
sources:
  - slug: wh
    type: {kind}
    configuration: {{path: {path}}}
models:
  - slug: users
    source: wh
    primaryKey: {key}
    {query}
destinations:
  - slug: crm
    type: pretend
    configuration: {{host: localhost}}
syncs:
  - slug: users-to-crm
    model: users
    destination: crm
    configuration:
      mode: upsert
      object: people
      mappings: [{{from: {column}, to: email}}]
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A SQLite and a DuckDB file, each with ``users(id, email)``."""
    made = {"sqlite": tmp_path / "wh.sqlite", "duckdb": tmp_path / "wh.duckdb"}
    with sqlite3.connect(made["sqlite"]) as connection:
        connection.execute("CREATE TABLE users (id INTEGER, email TEXT)")
    connection.close()
    with duckdb.connect(str(made["duckdb"])) as db:
        db.execute("CREATE TABLE users (id INTEGER, email TEXT)")
    return made


def project(write_project: WriteFiles, path: Path, kind: str, **fields: str) -> Path:
    values = {"key": "id", "query": "table: {name: users}", "column": "email", **fields}
    return write_project(**{"a.yml": PROJECT.format(kind=kind, path=path, **values)})


def problems_of(root: Path) -> list[Problem]:
    with pytest.raises(ValidationError) as caught:
        load_project(root)
    return caught.value.problems


@pytest.mark.parametrize(
    ("kind", "query"),
    [
        ("sqlite", "table: {name: users}"),
        ("sqlite", 'raw: {sql: "SELECT id, email FROM users"}'),
        ("duckdb", "table: {name: users}"),
        ("duckdb", 'raw: {sql: "SELECT id, email FROM users"}'),
    ],
)
def test_a_key_that_is_not_a_column_is_a_problem_at_its_line(
    write_project: WriteFiles, files: dict[str, Path], kind: str, query: str
) -> None:
    root = project(write_project, files[kind], kind, key="nope", query=query)

    (problem,) = problems_of(root)

    assert (problem.file, problem.line, problem.location) == ("a.yml", 8, "models[0].primaryKey")
    assert "the primary key 'nope' is not a column of model 'users'" in problem.message
    assert "(columns: id, email)" in problem.message
    assert problem.fix


@pytest.mark.parametrize(
    ("kind", "query"),
    [
        ("sqlite", "table: {name: users}"),
        ("duckdb", "table: {name: users}"),
        ("duckdb", 'raw: {sql: "SELECT id, email FROM users"}'),
    ],
)
def test_a_mapping_of_a_column_the_model_lacks_is_a_problem(
    write_project: WriteFiles, files: dict[str, Path], kind: str, query: str
) -> None:
    root = project(write_project, files[kind], kind, column="phone", query=query)

    (problem,) = problems_of(root)

    assert problem.location == "syncs[0].configuration.mappings[0].from"
    assert problem.line == 21
    assert "column 'phone' is not in model 'users'" in problem.message


def test_a_duckdb_query_reading_files_off_the_database_folder_is_left_to_apply(
    write_project: WriteFiles, files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Validate asks DuckDB inside its sandbox of the database's folder, without network:
    # a query reading elsewhere is refused there, and apply asks it as a run would.
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "users.csv").write_text("id,email\n1,a@b.c\n")
    query = f"raw: {{sql: \"SELECT * FROM read_csv('{elsewhere / 'users.csv'}')\"}}"
    root = project(write_project, files["duckdb"], "duckdb", key="nope", query=query)

    loaded = load_project(root)

    assert loaded.models["users"].primary_key == "nope"
    assert loaded.warnings == []


def test_a_duckdb_query_may_read_files_beside_the_database(
    write_project: WriteFiles, files: dict[str, Path]
) -> None:
    (files["duckdb"].parent / "users.csv").write_text("id,email\n1,a@b.c\n")
    csv = files["duckdb"].parent / "users.csv"
    query = f"raw: {{sql: \"SELECT * FROM read_csv('{csv}')\"}}"
    root = project(write_project, files["duckdb"], "duckdb", column="phone", query=query)

    (problem,) = problems_of(root)

    assert problem.location == "syncs[0].configuration.mappings[0].from"
    assert "column 'phone' is not in model 'users'" in problem.message


def test_a_missing_file_is_neither_checked_nor_created(
    write_project: WriteFiles, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.sqlite"
    root = project(write_project, missing, "sqlite", key="nope")

    assert load_project(root).models["users"].primary_key == "nope"
    assert not missing.exists()


def test_a_query_the_local_file_refuses_is_a_warning_naming_the_model(
    write_project: WriteFiles, files: dict[str, Path]
) -> None:
    query = 'raw: {sql: "SELECT * FROM no_such_table"}'
    root = project(write_project, files["sqlite"], "sqlite", query=query)

    loaded = load_project(root)

    (warning,) = loaded.warnings
    assert (warning.file, warning.line, warning.location) == ("a.yml", 9, "models[0].raw")
    assert "the columns of model 'users' could not be read" in warning.message
    assert "no such table: no_such_table" in warning.message
    assert "the mappings of its syncs are unchecked" in warning.message
    assert warning.fix


def test_a_query_returning_a_column_twice_is_a_problem_at_the_query(
    write_project: WriteFiles, files: dict[str, Path]
) -> None:
    query = 'raw: {sql: "SELECT id, id, email FROM users"}'
    root = project(write_project, files["duckdb"], "duckdb", query=query)

    (problem,) = problems_of(root)

    assert (problem.line, problem.location) == (9, "models[0].raw")
    assert "the query of model 'users' returns column 'id' more than once" in problem.message
    assert problem.fix
    assert "SELECT id AS id_2" in problem.fix


@pytest.mark.parametrize(
    ("other", "where"),
    [
        ("      guards: {maxRemovedShare: 2}\n", "syncs[0].configuration.guards.maxRemovedShare"),
        (
            "      mappings: [{from: phone, to: email}, name]\n",
            "syncs[0].configuration.mappings[1]",
        ),
    ],
    ids=["guard", "bare-mapping"],
)
def test_a_mapping_of_a_missing_column_is_reported_beside_another_problem(
    write_project: WriteFiles, files: dict[str, Path], other: str, where: str
) -> None:
    root = project(write_project, files["sqlite"], "sqlite", column="phone")
    text = (root / "a.yml").read_text()
    if "mappings" in other:
        text = text.replace("      mappings: [{from: phone, to: email}]\n", other)
    else:
        text += other
    (root / "a.yml").write_text(text)

    problems = problems_of(root)

    assert any("column 'phone' is not in model 'users'" in p.message for p in problems)
    assert any(p.location.startswith(where) for p in problems), [p.location for p in problems]
