"""Loading a project folder: parsing, ${VAR} substitution, and every kind of problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from project_samples import VALID_REST, VALID_SOURCES, WriteFiles

from syncline.errors import ConfigError, Problem, ValidationError
from syncline.project.concealed import conceal, project_documents
from syncline.project.loader import load_project

ENV = {"CRM_PASSWORD": "hunter2"}


def problems_of(root: Path, env: dict[str, str] | None = None) -> list[Problem]:
    with pytest.raises(ValidationError) as caught:
        load_project(root, env=ENV if env is None else env)
    return caught.value.problems


def only(problems: list[Problem], text: str) -> Problem:
    matching = [p for p in problems if text in p.message]
    assert len(matching) == 1, [p.render() for p in problems]
    return matching[0]


def test_a_valid_project_loads_every_resource_with_its_origin(write_project: WriteFiles) -> None:
    root = write_project(
        **{
            "syncline.yml": "workspace: analytics\n",
            "a.yml": VALID_SOURCES,
            "sub__b.yaml": VALID_REST,
        }
    )

    project = load_project(root, env=ENV)

    assert project.workspace == "analytics"
    assert set(project.sources) == {"wh"}
    assert project.sources["wh"].name == "Warehouse"
    assert project.sources["wh"].configuration == {"path": "/tmp/nowhere.duckdb"}
    model = project.models["users"]
    assert (model.source, model.primary_key, model.sql, model.query_type) == (
        "wh", "id", "SELECT 1 AS id", "raw_sql",
    )  # fmt: skip
    assert model.name == "users"
    assert project.destinations["crm"].configuration["password"] == "hunter2"
    sync = project.syncs["users-to-crm"]
    assert sync.configuration["mode"] == "upsert"
    assert sync.configuration["mappings"] == [{"type": "standard", "from": "id", "to": "id"}]
    assert sync.schedule is None
    assert sync.disabled is False
    assert str(sync.origin) == "sub/b.yaml:11"


def test_variables_are_substituted_and_dollar_dollar_escapes(write_project: WriteFiles) -> None:
    rest = VALID_REST.replace('"SELECT 1 AS id"', "\"SELECT '$${NOT_A_VAR}' AS x, ${ID} AS id\"")
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    project = load_project(root, env={**ENV, "ID": "42"})

    assert project.models["users"].sql == "SELECT '${NOT_A_VAR}' AS x, 42 AS id"


def test_project_dir_variable_names_the_project_folder(write_project: WriteFiles) -> None:
    sources = VALID_SOURCES.replace("/tmp/nowhere.duckdb", "'${SYNCLINE_PROJECT_DIR}/w.duckdb'")
    root = write_project(**{"a.yml": sources, "b.yml": VALID_REST})

    project = load_project(root, env=ENV)

    assert project.sources["wh"].configuration["path"] == f"{root.resolve()}/w.duckdb"


def test_a_missing_variable_is_a_problem_with_file_and_line(write_project: WriteFiles) -> None:
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": VALID_REST})

    problem = only(problems_of(root, env={}), "CRM_PASSWORD")

    assert (problem.file, problem.line) == ("b.yml", 9)
    assert problem.location == "destinations[0].configuration.password"
    assert "CRM_PASSWORD" in (problem.fix or "")


def test_a_default_stands_in_for_a_variable_not_set_or_empty(write_project: WriteFiles) -> None:
    sources = VALID_SOURCES.replace("/tmp/nowhere.duckdb", '"${WH_PATH:-/tmp/x.duckdb}"')
    rest = VALID_REST.replace('"SELECT 1 AS id"', "\"SELECT ${ID:-7} AS id, '${NOTE:-}' AS n\"")
    root = write_project(**{"a.yml": sources, "b.yml": rest})

    unset = load_project(root, env=ENV)
    empty = load_project(root, env={**ENV, "WH_PATH": "", "ID": ""})
    given = load_project(root, env={**ENV, "WH_PATH": "/tmp/y.duckdb", "ID": "42"})

    assert unset.sources["wh"].configuration["path"] == "/tmp/x.duckdb"
    assert unset.models["users"].sql == "SELECT 7 AS id, '' AS n"
    assert empty.sources["wh"].configuration["path"] == "/tmp/x.duckdb"
    assert given.sources["wh"].configuration["path"] == "/tmp/y.duckdb"
    assert given.models["users"].sql == "SELECT 42 AS id, '' AS n"


def test_a_default_may_hold_references_read_only_when_it_is_used(
    write_project: WriteFiles,
) -> None:
    nested = '"${WH_PATH:-${SYNCLINE_PROJECT_DIR}/w.duckdb}"'
    sources = VALID_SOURCES.replace("/tmp/nowhere.duckdb", nested)
    rest = VALID_REST.replace('"SELECT 1 AS id"', '"SELECT ${ID:-${FALLBACK}} AS id"')
    root = write_project(**{"a.yml": sources, "b.yml": rest})

    unset = load_project(root, env={**ENV, "FALLBACK": "7"})
    given = load_project(root, env={**ENV, "WH_PATH": "/tmp/y.duckdb", "ID": "42"})
    problem = only(problems_of(root, env=ENV), "FALLBACK")

    assert unset.sources["wh"].configuration["path"] == f"{root.resolve()}/w.duckdb"
    assert unset.models["users"].sql == "SELECT 7 AS id"
    assert given.sources["wh"].configuration["path"] == "/tmp/y.duckdb"
    assert given.models["users"].sql == "SELECT 42 AS id"
    assert problem.file == "b.yml"


@pytest.mark.parametrize(
    ("reference", "message", "fix"),
    [
        ("${ UNSET_A }", "has spaces inside the braces", "write ${UNSET_A}"),
        ("${ WH:-/x }", "has spaces inside the braces", "write ${WH:-/x}"),
        ("${WH-/x}", "uses '-', which is not supported", "write ${WH:-default}"),
        ("${WH:?gone}", "uses ':?', which is not supported", "write ${WH:-default}"),
        ("${1WH}", "is not a variable reference", "write ${NAME} or ${NAME:-default}"),
    ],
)
def test_an_unsupported_reference_says_what_to_write_instead(
    write_project: WriteFiles, reference: str, message: str, fix: str
) -> None:
    sources = VALID_SOURCES.replace("/tmp/nowhere.duckdb", f'"{reference}"')
    root = write_project(**{"a.yml": sources, "b.yml": VALID_REST})

    problem = only(problems_of(root), message)

    assert (problem.file, problem.line) == ("a.yml", 5)
    assert problem.message.startswith(f"'{reference}'")
    assert problem.fix is not None
    assert fix in problem.fix


def test_unknown_keys_are_reported_with_the_closest_known_key(write_project: WriteFiles) -> None:
    rest = VALID_REST.replace("primaryKey: id", "primaryKey: id\n    descripton: typo")
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest, "c.yml": "model: []\n"})

    problems = problems_of(root)

    typo = only(problems, "'descripton'")
    assert (typo.file, typo.line) == ("b.yml", 5)
    assert typo.fix == "did you mean 'description'?"
    top = only(problems, "'model'")
    assert (top.file, top.line, top.fix) == ("c.yml", 1, "did you mean 'models'?")


def test_missing_required_keys_are_each_reported(write_project: WriteFiles) -> None:
    sources = "sources:\n  - slug: wh\n    name: x\n"
    root = write_project(**{"a.yml": sources, "b.yml": VALID_REST})

    problems = problems_of(root)

    for key in ("type", "configuration"):
        problem = only(problems, f"required key {key!r}")
        assert (problem.file, problem.line, problem.location) == ("a.yml", 2, "sources[0]")


def test_a_missing_reference_is_reported_once_as_missing(write_project: WriteFiles) -> None:
    rest = VALID_REST.replace("    source: wh\n", "", 1)
    assert rest != VALID_REST
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    problems = problems_of(root)

    assert only(problems, "required key 'source'").location == "models[0]"
    assert not [p for p in problems if "not declared" in p.message]


def test_duplicate_slugs_name_both_places(write_project: WriteFiles) -> None:
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": VALID_REST, "c.yml": VALID_SOURCES})

    problem = only(problems_of(root), "also declared")

    assert (problem.file, problem.line) == ("c.yml", 2)
    assert "a.yml:2" in problem.message


def test_dangling_references_list_what_exists(write_project: WriteFiles) -> None:
    rest = VALID_REST.replace("source: wh", "source: warehous").replace(
        "model: users", "model: nobody"
    )
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    problems = problems_of(root)

    source = only(problems, "source 'warehous'")
    assert (source.file, source.line) == ("b.yml", 3)
    assert "declared: wh" in source.message
    model = only(problems, "model 'nobody'")
    assert "declared: users" in model.message


def test_connector_configuration_is_checked_by_its_model(write_project: WriteFiles) -> None:
    rest = VALID_REST.replace("{host: localhost,", "{hots: localhost, port: many,")
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    problems = [p for p in problems_of(root) if p.location.startswith("destinations[0]")]

    locations = {p.location for p in problems}
    assert locations == {
        "destinations[0].configuration.host",
        "destinations[0].configuration.hots",
        "destinations[0].configuration.port",
    }
    assert {p.line for p in problems} == {9}
    assert all("hunter2" not in p.render() for p in problems)


def test_an_unknown_connector_type_lists_the_known_types(write_project: WriteFiles) -> None:
    root = write_project(
        **{"a.yml": VALID_SOURCES.replace("duckdb", "duckbd"), "b.yml": VALID_REST}
    )

    problem = only(problems_of(root), "unknown source type")

    assert (problem.file, problem.line, problem.location) == ("a.yml", 4, "sources[0].type")
    assert "duckdb" in problem.message
    assert "postgres" in problem.message


def test_sync_configuration_problems_point_into_it(write_project: WriteFiles) -> None:
    rest = VALID_REST.replace("object: people", "object: people\n      deleteBehavior: wipe")
    rest = rest.replace("[{from: id, to: id}]", "[{from: id, to: id}, {type: static, to: x}]")
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    problems = problems_of(root)

    behaviour = only(problems, "'nothing', 'clear' or 'delete'")
    assert (behaviour.line, behaviour.location) == (17, "syncs[0].configuration.deleteBehavior")
    static = [p for p in problems if p.location.startswith("syncs[0].configuration.mappings[1]")]
    assert static
    assert static[0].line == 18


def test_a_mode_the_destination_does_not_support_is_refused(write_project: WriteFiles) -> None:
    root = write_project(
        **{"a.yml": VALID_SOURCES, "b.yml": VALID_REST.replace("upsert", "mirror")}
    )

    problem = only(problems_of(root), "does not support mode 'mirror'")

    assert (problem.file, problem.line) == ("b.yml", 15)
    assert problem.fix == "use ['insert', 'upsert']"


@pytest.mark.parametrize(
    ("schedule", "message", "line"),
    [
        ("{type: cron, schedule: {expression: '0 * * *'}}", "must have 5 fields", 18),
        ("{type: cron, schedule: {expression: '99 * * * *'}}", "minute 99, outside 0 to 59", 18),
        ("{type: cron, schedule: {expression: '0 6 * 13 1-5'}}", "month 13", 18),
        (
            "{type: visual, schedule: {expressions: [{days: {monday: true}, time: '8:30'}]}}",
            "is not HH:MM",
            18,
        ),
        (
            "{type: visual, schedule: {expressions: [{days: {monday: false}, time: '08:30'}]}}",
            "names no day with true",
            18,
        ),
        ("{type: dbt, schedule: {account: {id: ''}, job: {id: '2'}}}", "'account.id' is empty", 18),
        ("{type: interval, schedule: {interval: {unit: year, quantity: 1}}}", "unit 'year'", 18),
        ("{type: interval, schedule: {interval: {unit: day, quantity: 0}}}", "quantity 0", 18),
        ("{type: cron, schedule: {interval: {unit: day, quantity: 1}}}", "unknown key", 18),
        ("{type: hourly, schedule: {}}", "unknown schedule type 'hourly'", 18),
        ("{type: cron, schedule: {expression: '* * * * *', timezone: Mars/Base}}", "time zone", 18),
    ],
)
def test_bad_schedules_are_reported(
    write_project: WriteFiles, schedule: str, message: str, line: int
) -> None:
    rest = VALID_REST + f"    schedule: {schedule}\n"
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    problem = only(problems_of(root), message)

    assert (problem.file, problem.line) == ("b.yml", line)
    assert problem.location.startswith("syncs[0].schedule")


def test_dbt_cloud_schedules_are_stored_as_dbt(write_project: WriteFiles) -> None:
    schedule = "{type: dbt-cloud, schedule: {account: {id: '1'}, job: {id: '2'}}}"
    rest = VALID_REST + f"    schedule: {schedule}\n    disabled: true\n    tags: {{a: b}}\n"
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    sync = load_project(root, env=ENV).syncs["users-to-crm"]

    assert sync.schedule == {
        "type": "dbt",
        "schedule": {"account": {"id": "1"}, "job": {"id": "2"}},
    }
    assert (sync.disabled, sync.tags) == (True, {"a": "b"})


def test_every_problem_is_reported_at_once(write_project: WriteFiles) -> None:
    rest = VALID_REST.replace("source: wh", "source: nope").replace("upsert", "mirror")
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest, "c.yml": "sinks: []\n"})

    problems = problems_of(root, env={})

    assert len(problems) == 4
    assert {p.file for p in problems} == {"b.yml", "c.yml"}


def test_yaml_syntax_errors_and_duplicate_keys_have_lines(write_project: WriteFiles) -> None:
    broken = "sources:\n  - slug: x\n    type: [duckdb\n"
    doubled = "models:\n  - slug: m\n    slug: n\n"
    root = write_project(**{"a.yml": broken, "b.yml": doubled})

    problems = problems_of(root)

    syntax = only(problems, "not valid YAML")
    assert syntax.file == "a.yml"
    assert syntax.line in (3, 4)
    twice = only(problems, "appears twice")
    assert (twice.file, twice.line) == ("b.yml", 3)


def test_a_folder_without_yaml_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="has no .yml files"):
        load_project(tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_project(tmp_path / "missing")


def test_a_broken_template_is_reported_with_file_and_line(write_project: WriteFiles) -> None:
    rest = VALID_REST.replace(
        "mappings: [{from: id, to: id}]",
        "mappings:\n        - {from: id, to: id}\n"
        "        - {type: template, template: '{{ a ', to: b}",
    )
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    problem = only(problems_of(root), "the template of field 'b' is not valid")

    assert problem.file == "b.yml"
    assert problem.line == 19
    assert problem.location == "syncs[0].configuration.mappings[1].template"


def test_an_object_the_destination_refuses_is_a_problem(write_project: WriteFiles) -> None:
    rest = VALID_REST.replace("object: people", "object: ../../people")
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    problem = only(problems_of(root), "must stay inside the destination folder")

    assert (problem.file, problem.line) == ("b.yml", 16)
    assert problem.location == "syncs[0].configuration.object"


def test_a_broken_model_is_reported_once_not_again_on_its_syncs(write_project: WriteFiles) -> None:
    rest = VALID_REST.replace("    primaryKey: id\n", "")
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    problems = problems_of(root)

    assert [p.message for p in problems] == ["the required key 'primaryKey' is missing"]


def test_two_syncs_writing_one_object_get_a_warning(write_project: WriteFiles) -> None:
    second = (
        "  - slug: users-again\n    model: users\n    destination: crm\n"
        "    configuration: {mode: upsert, object: people, mappings: [{from: id, to: id}]}\n"
    )
    rest = VALID_REST + second
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    project = load_project(root, env=ENV)

    assert len(project.syncs) == 2
    [warning] = project.warnings
    assert "'users-to-crm', 'users-again' all write 'people'" in warning.message
    assert warning.file == "b.yml"


def test_one_pass_reports_problems_behind_an_unknown_key(write_project: WriteFiles) -> None:
    rest = VALID_REST.replace("    model: users\n", "    model: users\n    colour: red\n")
    rest += "    schedule: {type: cron, schedule: {expression: '0 * * *'}}\n"
    rest += "  - slug: users-to-crm\n    model: users\n    destination: crm\n"
    rest += "    configuration: {mode: upsert, object: people}\n"
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    problems = problems_of(root)

    only(problems, "unknown key 'colour'")
    only(problems, "must have 5 fields")
    only(problems, "also declared")


@pytest.mark.parametrize(
    ("mode", "behaviour", "fix"),
    [
        ("mirror", "nothing", "use mode upsert with deleteBehavior 'nothing'"),
        ("mirror", "clear", "use mode upsert with deleteBehavior 'clear'"),
        ("insert", "delete", "remove deleteBehavior, or use mode upsert"),
        ("append", "clear", "remove deleteBehavior, or use mode upsert"),
    ],
)
def test_a_delete_behaviour_the_mode_would_not_follow_is_refused(
    write_project: WriteFiles, mode: str, behaviour: str, fix: str
) -> None:
    rest = VALID_REST.replace("mode: upsert", f"mode: {mode}")
    rest = rest.replace("object: people", f"object: people\n      deleteBehavior: {behaviour}")
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    problem = only(problems_of(root), "deleteBehavior")

    assert (problem.line, problem.location) == (17, "syncs[0].configuration.deleteBehavior")
    assert f"mode {mode!r}" in problem.message
    assert problem.fix is not None
    assert fix in problem.fix


def test_mirror_may_say_it_deletes(write_project: WriteFiles) -> None:
    rest = VALID_REST.replace("mode: upsert", "mode: mirror")
    rest = rest.replace("object: people", "object: people\n      deleteBehavior: delete")
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    # The pretend destination has no mirror mode; that is the only problem.
    problems = problems_of(root)
    assert [p.location for p in problems] == ["syncs[0].configuration.mode"]


@pytest.mark.parametrize(
    ("kind", "setting", "message", "fix"),
    [
        ("csv", "directory: 5", "'directory' must be a file or folder path, not 5", "a path"),
        ("postgres", "port: abc", "'port' must be a whole number, not 'abc'", "digits only"),
        ("webhook", "timeout: fast", "'timeout' must be a number, not 'fast'", "e.g. 30"),
        ("webhook", "concurrency: 0", "'concurrency' must be at least 1, not 0", "1 or more"),
        ("postgres", "sslmode: bogus", "'sslmode' must be 'disable', 'allow'", "use 'disable'"),
    ],
)
def test_a_bad_connector_setting_says_what_it_wants_and_the_fix(
    write_project: WriteFiles, kind: str, setting: str, message: str, fix: str
) -> None:
    required = {
        "csv": "",
        "postgres": "host: 127.0.0.1, ",
        "webhook": "url: 'http://127.0.0.1:9', ",
    }
    destinations = (
        f"destinations:\n  - slug: out\n    type: {kind}\n"
        f"    configuration: {{{required[kind]}{setting}}}\n"
    )
    root = write_project(**{"a.yml": destinations})

    problem = only(problems_of(root), message)

    assert problem.location == f"destinations[0].configuration.{setting.split(':')[0]}"
    assert problem.fix is not None
    assert fix in problem.fix


def test_a_value_from_a_variable_is_never_echoed_in_a_problem(
    write_project: WriteFiles,
) -> None:
    secret = "Zq9SECRETpw"
    rest = VALID_REST.replace(
        '{host: localhost, password: "${CRM_PASSWORD}"}',
        '{host: localhost, port: "${PW}", password: "${PW}"}',
    ).replace("object: people", 'object: "../${OBJ}"')
    sources = (
        "sources:\n  - slug: pg\n    type: postgres\n"
        '    configuration: {host: 127.0.0.1, sslmode: "${PW}", port: "x${PW}"}\n'
    )
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest, "c.yml": sources})

    problems = problems_of(root, env={"PW": secret, "OBJ": f"../{secret}obj"})

    rendered = "\n".join(p.render() for p in problems)
    assert secret not in rendered
    assert all(secret not in repr(p.value) for p in problems)
    port = only(problems, "'port' must be a whole number, not the value of ${PW}")
    assert port.location == "destinations[0].configuration.port"
    only(problems, "'sslmode' must be 'disable'")
    only(problems, "must stay inside the destination folder")


def test_a_value_a_database_changed_the_case_of_is_concealed_too(
    write_project: WriteFiles,
) -> None:
    models = VALID_REST.replace('"SELECT 1 AS id"', '"SELECT 1 AS id WHERE email = ${PW}"')
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": models})
    project = load_project(root, env={"PW": "s3cr3tVALUE", "CRM_PASSWORD": "hunter2"})
    # PostgreSQL folds an unquoted identifier to lower case before it reports it.
    said = Problem("models[0].raw", 'column "s3cr3tvalue" does not exist', file="b.yml")

    (problem,) = conceal([said], project_documents(project))

    assert "s3cr3t" not in problem.message.lower()
    assert problem.message == "column ${PW} does not exist"


@pytest.mark.parametrize(
    ("schedule", "said"),
    [
        (
            "{type: cron, schedule: {expression: '${PW}'}}",
            "the cron expression (the value of ${PW}) must",
        ),
        (
            "{type: interval, schedule: {interval: {quantity: 1, unit: '${PW}'}}}",
            "unknown interval unit (the value of ${PW})",
        ),
        (
            "{type: interval, schedule: {interval: {quantity: '${PW}', unit: hour}}}",
            "not the text (the value of ${PW})",
        ),
    ],
    ids=["cron", "unit", "quantity"],
)
def test_a_concealed_value_reads_well_in_the_sentence_it_stands_in(
    write_project: WriteFiles, schedule: str, said: str
) -> None:
    root = _sync_with(
        write_project, "      mappings: [{from: id, to: id}]\n", f"    schedule: {schedule}\n"
    )

    problems = problems_of(root, env={**ENV, "PW": "Zq9SECRETpw"})

    only(problems, said)


def test_an_unclosed_reference_in_a_block_is_shown_on_one_line(write_project: WriteFiles) -> None:
    models = VALID_REST.replace(
        'raw: {sql: "SELECT 1 AS id"}',
        "raw:\n      sql: |\n        SELECT 1 AS id\n"
        "        WHERE email = ${PW\n        AND 1 = 1\n",
    )
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": models})

    problem = only(problems_of(root, env={**ENV, "PW": "x"}), "no closing")

    assert "\n" not in problem.message
    assert "the reference '${PW...' has no closing '}'" in problem.message


def test_an_unclosed_reference_in_the_workspace_is_one_problem(write_project: WriteFiles) -> None:
    root = write_project(
        **{"syncline.yml": 'workspace: "${WS"\n', "a.yml": VALID_SOURCES, "b.yml": VALID_REST}
    )

    (problem,) = problems_of(root, env={**ENV, "WS": "team"})

    assert "no closing" in problem.message


def test_an_unclosed_reference_is_a_problem_not_text(write_project: WriteFiles) -> None:
    rest = VALID_REST.replace('"${CRM_PASSWORD}"', '"${PW_UNCLOSED"')
    sources = VALID_SOURCES.replace("/tmp/nowhere.duckdb", '"/tmp/$${kept.duckdb"')
    root = write_project(**{"a.yml": sources, "b.yml": rest})

    problem = only(problems_of(root, env={"PW_UNCLOSED": "x"}), "no closing")

    assert (problem.file, problem.line) == ("b.yml", 9)
    assert problem.location == "destinations[0].configuration.password"
    assert problem.fix is not None
    assert "${PW_UNCLOSED}" in problem.fix
    assert "$${" in problem.fix


def test_an_escaped_unclosed_reference_is_kept_as_text(write_project: WriteFiles) -> None:
    sources = VALID_SOURCES.replace("/tmp/nowhere.duckdb", '"/tmp/$${kept.duckdb"')
    root = write_project(**{"a.yml": sources, "b.yml": VALID_REST})

    project = load_project(root, env=ENV)

    assert project.sources["wh"].configuration["path"] == "/tmp/${kept.duckdb"


def _sync_with(write_project: WriteFiles, configuration: str, extra: str = "") -> Path:
    rest = VALID_REST.replace("      mappings: [{from: id, to: id}]\n", configuration) + extra
    return write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})


def test_enabled_is_told_to_write_disabled_false(write_project: WriteFiles) -> None:
    rest = VALID_REST.replace("    model: users\n", "    model: users\n    enabled: true\n")
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    problem = only(problems_of(root), "unknown key 'enabled'")

    assert problem.fix == "write disabled: false"


def test_a_misspelt_guard_and_time_zone_get_the_right_spelling(
    write_project: WriteFiles,
) -> None:
    schedule = "    schedule: {type: cron, schedule: {expression: '0 * * * *', timezone: utc}}\n"
    root = _sync_with(
        write_project,
        "      guards: {maxRemovedShares: 0.5}\n      mappings: [{from: id, to: id}]\n",
        schedule,
    )

    problems = problems_of(root)

    guard = only(problems, "'maxRemovedShares'")
    assert guard.fix == "did you mean 'maxRemovedShare'?"
    zone = only(problems, "time zone 'utc'")
    assert zone.fix == "did you mean 'UTC'?"


@pytest.mark.parametrize(
    ("mapping", "location", "message", "fix"),
    [
        ("{from: id}", "mappings[1].to", "has no 'to'", "to:"),
        ("{type: statik, value: 1, to: b}", "mappings[1].type", "'statik'", "'static'"),
        ("{type: static, to: c}", "mappings[1].value", "has no 'value'", "value:"),
        ("{type: template, to: e}", "mappings[1].template", "has no 'template'", "template:"),
        ("{from: id, to: f, extra: 1}", "mappings[1].extra", "unknown key 'extra'", "from, to"),
        ("id", "mappings[1]", "must be a mapping such as", "{from: "),
        ("{from: '', to: i}", "mappings[1].from", "'from' must not be empty", "fill it in"),
    ],
)
def test_mapping_problems_say_which_mapping_which_key_and_what_to_write(
    write_project: WriteFiles, mapping: str, location: str, message: str, fix: str
) -> None:
    root = _sync_with(write_project, f"      mappings: [{{from: id, to: id}}, {mapping}]\n")

    [problem] = problems_of(root)

    assert problem.location == f"syncs[0].configuration.{location}"
    assert message in problem.message
    assert "Field required" not in problem.message
    assert "Input should" not in problem.message
    assert problem.fix is not None
    assert fix in problem.fix
    assert problem.fix != "correct this value"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{% include '/etc/passwd' %}", "{% include %}"),
        ("{% import 'x' as y %}{{ id }}", "{% import %}"),
        ("{{ lipsum.__globals__ }}", "'__globals__'"),
        ("{{ id.__class__ }}", "'__class__'"),
    ],
)
def test_a_template_the_sandbox_always_refuses_is_refused(
    write_project: WriteFiles, template: str, message: str
) -> None:
    rest = VALID_REST.replace(
        "mappings: [{from: id, to: id}]",
        "mappings:\n        - {from: id, to: id}\n"
        f'        - {{type: template, template: "{template}", to: b}}',
    )
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": rest})

    [problem] = problems_of(root)

    assert problem.location == "syncs[0].configuration.mappings[1].template"
    assert message in problem.message
    assert problem.fix is not None
