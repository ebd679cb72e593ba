"""Apply asks the source for a model's columns and refuses a primary key that is not one.

The models are DuckDB queries on a file opened for writing, which validate leaves to apply
(it opens no file for writing).
"""

from __future__ import annotations

import duckdb
import pytest
from project_samples import VALID_SOURCES, WriteFiles

from syncline.catalog import Catalog
from syncline.errors import ValidationError
from syncline.project.apply import apply_project
from syncline.project.loader import load_project
from syncline.settings import Settings

MODELS = """
models:
  - slug: users
    source: wh
    primaryKey: {key}
    raw: {{sql: "SELECT * FROM users"}}
"""


@pytest.fixture
def sources(settings: Settings) -> str:
    """The sources file, its warehouse holding ``users(id, email)``."""
    folder = settings.home / "files"
    folder.mkdir(parents=True)
    with duckdb.connect(str(folder / "wh.duckdb")) as connection:
        connection.execute("CREATE TABLE users AS SELECT 1 AS id, 'a@b.c' AS email")
    path = f"{folder / 'wh.duckdb'}, read_only: false"
    return VALID_SOURCES.replace("/tmp/nowhere.duckdb", path)


def test_a_model_without_syncs_is_refused_when_its_key_is_no_column(
    write_project: WriteFiles, catalog: Catalog, settings: Settings, sources: str
) -> None:
    project = load_project(write_project(**{"a.yml": sources, "b.yml": MODELS.format(key="nope")}))

    with pytest.raises(ValidationError) as caught:
        apply_project(catalog, project, settings)

    (problem,) = caught.value.problems
    assert (problem.file, problem.line) == ("b.yml", 4)
    assert problem.location == "models[0].primaryKey"
    assert "the primary key 'nope' is not a column of model 'users'" in problem.message
    assert "(columns: id, email)" in problem.message
    assert "set primaryKey" in (problem.fix or "")
    with catalog.session(read_only=True) as session:
        assert session.models.find("users") is None, "nothing was applied"


def test_a_key_that_is_a_column_is_applied(
    write_project: WriteFiles, catalog: Catalog, settings: Settings, sources: str
) -> None:
    project = load_project(write_project(**{"a.yml": sources, "b.yml": MODELS.format(key="id")}))

    plan = apply_project(catalog, project, settings)

    assert [change.describe() for change in plan.changes] == [
        "create source 'wh'",
        "create model 'users'",
    ]


def test_a_model_whose_query_fails_is_applied_with_a_warning_naming_it(
    write_project: WriteFiles, catalog: Catalog, settings: Settings, sources: str
) -> None:
    models = MODELS.format(key="id").replace("FROM users", "FROM no_such_table")
    project = load_project(write_project(**{"a.yml": sources, "b.yml": models}))

    plan = apply_project(catalog, project, settings)

    assert "create model 'users'" in [change.describe() for change in plan.changes]
    (warning,) = plan.warnings
    assert (warning.file, warning.line, warning.location) == ("b.yml", 5, "models[0].raw")
    assert "the columns of model 'users' could not be read from its duckdb source" in (
        warning.message
    )
    assert "no_such_table" in warning.message
    assert "the mappings of its syncs are unchecked" in warning.message
    assert warning.fix
    with catalog.session(read_only=True) as session:
        assert session.models.find("users") is not None
