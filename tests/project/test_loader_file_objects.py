"""Validation asks file destinations about their object names before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from project_samples import VALID_SOURCES, WriteFiles

from syncline.errors import ValidationError
from syncline.project.loader import load_project

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
