"""A project's file paths: free unless SYNCLINE_FILE_ROOTS is set or the catalog has an API key
or web user, never the catalog's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from project_samples import VALID_REST, WriteFiles

from syncline.catalog import Catalog
from syncline.errors import ValidationError
from syncline.project import loader
from syncline.project.apply import apply_project, plan_project
from syncline.project.loader import load_project
from syncline.security.secrets import SecretBox
from syncline.settings import Settings

ENV = {"CRM_PASSWORD": "hunter2"}


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    settings = Settings(home=tmp_path / "home")
    opened = Catalog.from_url(settings.catalog_url, secrets=SecretBox(Fernet.generate_key()))
    yield opened
    opened.close()


def _sources(path: Path) -> str:
    return f"""
        sources:
          - slug: wh
            name: Warehouse
            type: duckdb
            configuration: {{path: "{path}"}}
        """


def test_without_the_setting_a_project_may_name_any_file_but_the_catalog(
    write_project: WriteFiles, catalog: Catalog, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home")
    anywhere = write_project(**{"a.yml": _sources(tmp_path / "data.duckdb"), "b.yml": VALID_REST})
    assert not plan_project(catalog, load_project(anywhere, env=ENV), settings).empty

    own = write_project(**{"a.yml": _sources(tmp_path / "home" / "syncline.db")})
    with pytest.raises(ValidationError) as caught:
        apply_project(catalog, load_project(own, env=ENV), settings)

    problem = caught.value.problems[0]
    assert problem.location == "sources.wh.configuration.path"
    assert problem.file is not None
    assert problem.file.endswith("a.yml")


def test_with_the_setting_a_project_is_held_to_the_roots(
    write_project: WriteFiles, catalog: Catalog, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home", file_roots=(tmp_path / "data",))
    outside = write_project(**{"a.yml": _sources(tmp_path / "x.duckdb"), "b.yml": VALID_REST})

    with pytest.raises(ValidationError, match="SYNCLINE_FILE_ROOTS"):
        plan_project(catalog, load_project(outside, env=ENV), settings)

    inside = write_project(**{"a.yml": _sources(tmp_path / "data" / "x.duckdb")})
    assert not plan_project(catalog, load_project(inside, env=ENV), settings).empty


def test_a_sqlalchemy_url_naming_the_catalog_is_refused_like_a_path(
    write_project: WriteFiles, catalog: Catalog, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home")
    own = write_project(**{"a.yml": f"""
        sources:
          - slug: wh
            name: Warehouse
            type: sqlalchemy
            configuration: {{url: "sqlite:///{tmp_path / 'home' / 'syncline.db'}"}}
        """})  # fmt: skip

    with pytest.raises(ValidationError) as caught:
        plan_project(catalog, load_project(own, env=ENV), settings)

    problem = caught.value.problems[0]
    assert problem.location == "sources.wh.configuration.url"
    assert "syncline.db" in problem.message


def test_a_project_is_held_to_the_roots_of_its_own_workspace(
    write_project: WriteFiles, catalog: Catalog, tmp_path: Path
) -> None:
    roots = (tmp_path / "data" / "{workspace}",)
    settings = Settings(home=tmp_path / "home", file_roots=roots)
    theirs = _sources(tmp_path / "data" / "default" / "x.duckdb")
    ours = _sources(tmp_path / "data" / "team-b" / "x.duckdb")

    team = {"syncline.yml": "workspace: team-b\n", "b.yml": VALID_REST}
    foreign = write_project(**team, **{"a.yml": theirs})
    with pytest.raises(ValidationError, match="team-b") as caught:
        plan_project(catalog, load_project(foreign, env=ENV), settings)
    assert caught.value.problems[0].location == "sources.wh.configuration.path"

    own = write_project(**team, **{"a.yml": ours})
    assert not plan_project(catalog, load_project(own, env=ENV), settings).empty


def test_once_the_catalog_has_an_api_key_a_project_is_held_to_the_roots_runs_use(
    write_project: WriteFiles, catalog: Catalog, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home")
    anywhere = write_project(**{"a.yml": _sources(tmp_path / "data.duckdb"), "b.yml": VALID_REST})
    project = load_project(anywhere, env=ENV)
    assert not plan_project(catalog, project, settings).empty
    with catalog.session() as session:
        session.keys.create("ci")

    for step in (plan_project, apply_project):
        with pytest.raises(ValidationError) as caught:
            step(catalog, project, settings)
        (problem,) = caught.value.problems
        assert problem.location == "sources.wh.configuration.path"
        assert "is outside the folders file-based connectors may use" in problem.message
        assert str(tmp_path / "home" / "files" / "default") in problem.message

    inside = _sources(tmp_path / "home" / "files" / "default" / "data.duckdb")
    project = load_project(write_project(**{"a.yml": inside}), env=ENV)
    assert not apply_project(catalog, project, settings).empty


def test_validate_holds_a_project_to_the_roots_the_setting_names(
    write_project: WriteFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(home=tmp_path / "home", file_roots=(tmp_path / "data",))
    monkeypatch.setattr(loader, "get_settings", lambda: settings)
    outside = write_project(**{"a.yml": _sources(tmp_path / "x.duckdb"), "b.yml": VALID_REST})

    with pytest.raises(ValidationError) as caught:
        load_project(outside, env=ENV)

    (problem,) = caught.value.problems
    assert problem.location == "sources[0].configuration.path"
    assert (problem.file, problem.line) == ("a.yml", 5)
    assert "SYNCLINE_FILE_ROOTS" in (problem.fix or "")


def test_a_path_from_a_variable_is_named_not_shown_when_refused(
    write_project: WriteFiles, catalog: Catalog, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home")
    own = write_project(**{"a.yml": _sources(Path("${OWN_PATH}")), "b.yml": VALID_REST})
    secret_path = str(tmp_path / "home" / "syncline.db")
    project = load_project(own, env={**ENV, "OWN_PATH": secret_path})

    with pytest.raises(ValidationError) as caught:
        plan_project(catalog, project, settings)

    [problem] = caught.value.problems
    assert secret_path not in problem.render()
    assert "${OWN_PATH}" in problem.render()
