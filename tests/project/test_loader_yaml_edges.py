"""YAML that could crash or exhaust a reader: every case is a located problem with a fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from project_samples import VALID_REST, VALID_SOURCES, WriteFiles

from syncline.errors import Problem, ValidationError
from syncline.project.loader import load_project
from syncline.project.yamlfile import MAX_ALIASED_VALUES, read_document

ENV = {"CRM_PASSWORD": "hunter2"}


def problems_of(root: Path) -> list[Problem]:
    with pytest.raises(ValidationError) as caught:
        load_project(root, env=ENV)
    return caught.value.problems


def only(problems: list[Problem], text: str) -> Problem:
    matching = [p for p in problems if text in p.message]
    assert len(matching) == 1, [p.render() for p in problems]
    return matching[0]


def read(tmp_path: Path, content: bytes) -> tuple[object, list[Problem]]:
    path = tmp_path / "a.yml"
    path.write_bytes(content)
    document, problems = read_document(path, display="a.yml", env={})
    return document.data, problems


@pytest.mark.parametrize(
    "text",
    ["x: &a [*a]\n", "x: &a {<<: *a}\n", "x: &a\n  y: [1, {z: *a}]\n"],
    ids=["list", "merge", "nested"],
)
def test_an_alias_inside_its_own_anchor_is_a_problem_not_a_crash(
    write_project: WriteFiles, text: str
) -> None:
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": VALID_REST, "c.yml": text})

    problems = problems_of(root)

    loop = only(problems, "refers to a list or mapping that contains it")
    assert loop.file == "c.yml"
    assert loop.line is not None
    assert loop.fix


def test_nested_aliases_that_expand_past_the_limit_are_refused_quickly(
    write_project: WriteFiles,
) -> None:
    # Nine levels of nine aliases stand for 9**9 (387 million) strings.
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    lines.append("sources: *i")
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": VALID_REST, "c.yml": "\n".join(lines)})

    problems = problems_of(root)

    laughs = only(problems, f"stand for more than {MAX_ALIASED_VALUES} values")
    assert laughs.file == "c.yml"
    assert laughs.line == 5, "the first key whose aliases pass the limit"
    assert laughs.fix
    assert len(problems) == 1, "the other files were still read"


def test_merge_keys_let_written_keys_win_over_merged_ones(write_project: WriteFiles) -> None:
    shared = VALID_REST.replace(
        "    configuration:\n      mode: upsert\n      object: people\n",
        "    configuration: &shared\n      mode: insert\n      object: people\n",
    )
    second = (
        "  - slug: users-to-others\n    model: users\n    destination: crm\n"
        "    configuration:\n      <<: *shared\n      object: others\n"
    )
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": shared + second})

    project = load_project(root, env=ENV)

    merged = project.syncs["users-to-others"].configuration
    assert (merged["mode"], merged["object"]) == ("insert", "others")
    assert merged["mappings"] == project.syncs["users-to-crm"].configuration["mappings"]
    assert project.warnings == [], "the two syncs write different objects"


def test_a_merged_mapping_fills_in_keys_and_the_first_of_several_wins(tmp_path: Path) -> None:
    data, problems = read(
        tmp_path,
        b"a: &a {p: 1}\nb: &b {p: 2, q: 3}\nc:\n  <<: [*a, *b]\n  r: 4\nd:\n  <<: *b\n  q: 5\n",
    )

    assert problems == []
    assert data == {
        "a": {"p": 1},
        "b": {"p": 2, "q": 3},
        "c": {"p": 1, "q": 3, "r": 4},
        "d": {"p": 2, "q": 5},
    }


def test_a_problem_inside_an_alias_points_at_the_key_that_uses_it(
    write_project: WriteFiles,
) -> None:
    text = (
        "settings: &bad {mode: upsert, object: people, mappings: [{from: id, too: id}]}\n"
        + VALID_REST.replace(
            "    configuration:\n      mode: upsert\n      object: people\n"
            "      mappings: [{from: id, to: id}]\n",
            "    configuration: *bad\n",
        )
    )
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": text})

    problems = problems_of(root)

    mapping = [p for p in problems if p.location.startswith("syncs[0].configuration.mappings")]
    assert mapping, [p.render() for p in problems]
    assert {p.line for p in mapping} == {text.splitlines().index("    configuration: *bad") + 1}


def test_a_file_that_is_not_utf8_names_the_line_column_and_fix(tmp_path: Path) -> None:
    data, problems = read(
        tmp_path, "sources:\n  - slug: café\n".encode() + b"    name: \xe9t\xe9\n"
    )

    assert data is None
    (problem,) = problems
    assert problem.line == 3
    assert "byte 0xe9 at line 3, column 11" in problem.message
    assert "UTF-8" in (problem.fix or "")


def test_the_column_of_a_bad_byte_counts_characters_not_bytes(tmp_path: Path) -> None:
    _, (problem,) = read(tmp_path, "x: ééé".encode() + b"\xff\n")

    assert "line 1, column 7" in problem.message


def test_a_character_yaml_forbids_has_its_line(tmp_path: Path) -> None:
    _, (problem,) = read(tmp_path, b"a: 1\nb: 'x\x00y'\n")

    assert problem.line == 2
    assert "U+0000 at line 2, column 6" in problem.message
    assert problem.fix


@pytest.mark.parametrize("depth", [100, 5000])
def test_deep_nesting_is_a_located_problem_not_a_recursion_error(
    tmp_path: Path, depth: int
) -> None:
    data, (problem,) = read(tmp_path, b"a: 1\nb: " + b"[" * depth + b"]" * depth + b"\n")

    assert data is None
    assert problem.line == 2
    assert "nest more than" in problem.message
    assert problem.fix


def test_a_list_or_mapping_as_a_key_is_a_problem(tmp_path: Path) -> None:
    data, (problem,) = read(tmp_path, b"a: 1\n? [x, y]\n: 2\n")

    assert data == {"a": 1}
    assert problem.line == 2
    assert "a key must be a plain name" in problem.message


def test_a_tag_yaml_cannot_build_has_a_fix(tmp_path: Path) -> None:
    _, (problem,) = read(tmp_path, b"a: !!python/name:os.system\n")

    assert problem.line == 1
    assert "without !! tags" in (problem.fix or "")


def test_a_long_chain_of_merges_is_a_located_problem_not_a_recursion_error(
    tmp_path: Path,
) -> None:
    lines = ["m0: &m0 {x: 1}"] + [f"m{i}: &m{i} {{<<: *m{i - 1}}}" for i in range(1, 500)]

    data, (problem,) = read(tmp_path, "\n".join(lines).encode())

    assert data is None
    assert "merges nest more than" in problem.message
    assert problem.line is not None


def test_a_query_with_commas_in_a_flow_mapping_names_the_extra_keys(
    write_project: WriteFiles,
) -> None:
    # YAML reads the unquoted commas of {sql: SELECT id, email FROM t} as more keys.
    rest = VALID_REST.replace('raw: {sql: "SELECT 1 AS id"}', "raw: {sql: SELECT id, email FROM t}")
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    problem = only(problems_of(root), "'raw'")

    assert "'email FROM t'" in problem.message
    assert "add sql" not in (problem.fix or "")
    assert "quote" in (problem.fix or "")
    assert "block" in (problem.fix or "")


def test_a_raw_model_without_sql_is_told_to_add_it(write_project: WriteFiles) -> None:
    rest = VALID_REST.replace('raw: {sql: "SELECT 1 AS id"}', "raw: {query: SELECT 1 AS id}")
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    problem = only(problems_of(root), "'raw'")

    assert "sql" in problem.message
    assert "'query'" in problem.message
    assert "sql:" in (problem.fix or "")


def test_a_tab_in_indentation_says_yaml_forbids_tabs(tmp_path: Path) -> None:
    _, problems = read(tmp_path, b"sources:\n\t- slug: x\n")

    [problem] = problems
    assert problem.line == 2
    assert "tab" in problem.message
    assert problem.fix is not None
    assert "spaces" in problem.fix


def test_a_yaml_link_that_loops_or_leads_nowhere_is_reported(
    write_project: WriteFiles,
) -> None:
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": VALID_REST})
    (root / "loop.yml").symlink_to("loop.yml")
    (root / "gone.yaml").symlink_to("nowhere.yml")

    problems = problems_of(root)

    assert sorted(p.file or "" for p in problems) == ["gone.yaml", "loop.yml"]
    assert all("cannot be read" in p.message and p.fix for p in problems)


def test_a_folder_that_cannot_be_read_is_reported(
    write_project: WriteFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": VALID_REST, "sub__c.yml": ""})
    listing = os.scandir

    def refuse_sub(path: str | os.PathLike[str]) -> object:
        if Path(path).name == "sub":
            raise PermissionError(13, "Permission denied", str(path))
        return listing(path)

    monkeypatch.setattr(os, "scandir", refuse_sub)

    [problem] = problems_of(root)

    assert problem.file == "sub"
    assert "Permission denied" in problem.message
