"""API keys cannot reach the server's files: paths and model SQL stay in the file roots."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_fixtures import Api, default_roots_api, sync_body

from syncline.engine.report import RunStatus
from syncline.errors import ConfigError
from syncline.security.files import run_file_policy
from syncline.security.secrets import SecretBox
from syncline.settings import Settings, load_settings
from syncline.worker.execute import execute_leased


@pytest.fixture
def api(tmp_path: Path, secret_box: SecretBox) -> Iterator[Api]:
    """The API with the default policy: only ``home/files/default`` is open to ``key``."""
    with default_roots_api(tmp_path, secret_box) as made:
        yield made


def _source(api: Api, configuration: dict[str, Any], kind: str = "duckdb") -> Any:
    body = {"name": "s", "slug": "s", "type": kind, "configuration": configuration}
    return api.post("/sources", json=body)


def test_a_sqlite_source_on_the_catalog_is_refused_naming_field_path_and_setting(
    api: Api,
) -> None:
    response = _source(api, {"path": str(api.home / "syncline.db")}, kind="sqlite")

    assert response.status_code == 422
    text = response.text
    assert "configuration.path" in text
    assert "syncline.db" in text
    assert "SYNCLINE_FILE_ROOTS" in text
    # Adding a root would not help: the catalog is refused inside every root.
    assert "no folder in SYNCLINE_FILE_ROOTS opens Syncline's own files" in text
    assert "add its folder" not in text


def test_relative_and_dotdot_paths_are_resolved_before_the_check(api: Api) -> None:
    escape = api.home / "files" / ".." / "secret.key"
    (api.home / "files").mkdir(exist_ok=True)

    assert _source(api, {"path": str(escape)}, kind="sqlite").status_code == 422
    assert _source(api, {"path": "../../etc/passwd"}, kind="sqlite").status_code == 422


def test_a_file_destination_outside_the_roots_is_refused(api: Api, tmp_path: Path) -> None:
    body = {"name": "d", "slug": "d", "type": "csv",
            "configuration": {"directory": str(tmp_path / "loot")}}  # fmt: skip

    response = api.post("/destinations", json=body)

    assert response.status_code == 422
    assert "configuration.directory" in response.text


def test_model_sql_cannot_read_the_key_nor_write_a_file(api: Api, tmp_path: Path) -> None:
    source_id = api.ok("POST", "/sources", json={
        "name": "mem", "slug": "mem", "type": "duckdb", "configuration": {}})["id"]  # fmt: skip
    target = tmp_path / "written.csv"

    def model(sql: str, slug: str) -> Any:
        body = {"name": slug, "slug": slug, "sourceId": source_id, "queryType": "raw_sql",
                "raw": {"sql": sql}, "primaryKey": "id", "isSchema": False}  # fmt: skip
        return api.post("/models", json=body)

    read = model(f"SELECT 1 AS id, content FROM read_text('{api.home}/secret.key')", "steal")
    write = model(f"COPY (SELECT 42 AS id) TO '{target}'", "write")

    assert read.status_code == 422
    assert "the key" not in read.text
    assert "Permission" in read.text
    assert write.status_code == 422
    assert "one SELECT" in write.text
    assert not target.exists()


def test_a_parquet_source_and_csv_destination_inside_the_root_run_end_to_end(
    api: Api,
) -> None:
    import duckdb

    files = api.home / "files" / "default"
    files.mkdir(parents=True, exist_ok=True)
    duckdb.sql(f"COPY (SELECT 1 AS id, 'ada' AS name) TO '{files / 'people.parquet'}'")
    source_id = api.ok("POST", "/sources", json={
        "name": "mem", "slug": "mem", "type": "duckdb", "configuration": {}})["id"]  # fmt: skip
    body = {"name": "p", "slug": "p", "sourceId": source_id, "queryType": "raw_sql",
            "raw": {"sql": f"SELECT * FROM read_parquet('{files / 'people.parquet'}')"},
            "primaryKey": "id", "isSchema": False}  # fmt: skip
    model_id = api.ok("POST", "/models", json=body)["id"]
    destination_id = api.ok("POST", "/destinations", json={
        "name": "d", "slug": "d", "type": "csv",
        "configuration": {"directory": str(files / "out")}})["id"]  # fmt: skip
    sync = sync_body(int(model_id), int(destination_id))
    sync["configuration"]["mappings"] = [{"from": "name", "to": "name"}]
    sync_id = api.ok("POST", "/syncs", json=sync)["id"]
    run_id = api.ok("POST", f"/syncs/{sync_id}/trigger")["id"]
    with api.catalog.session() as session:
        session.runs.start(int(run_id), "test-worker")

    status = execute_leased(api.catalog, int(run_id), Settings(home=api.home), alerts=False)

    assert status is RunStatus.SUCCESS
    assert (files / "out" / "users").read_text().splitlines() == ['"id","name"', '"1","ada"']


def test_a_model_stored_unchecked_cannot_read_the_key_at_run_time(api: Api) -> None:
    files = api.home / "files" / "default"
    source_id = api.ok("POST", "/sources", json={
        "name": "mem", "slug": "mem", "type": "duckdb", "configuration": {}})["id"]  # fmt: skip
    sql = f"SELECT 1 AS id, content FROM read_text('{api.home}/secret.key')"

    status, run = _run_unchecked_model(api, int(source_id), sql, "content")

    assert status is RunStatus.FAILED
    assert "Permission" in run["error"]
    written = [p.read_text() for p in files.rglob("*") if p.is_file()]
    assert not any("the key" in text for text in written)


def test_runs_of_an_operator_only_catalog_follow_the_setting(tmp_path: Path) -> None:
    home = tmp_path / "home"
    data = tmp_path / "data" / "orders.duckdb"

    free = run_file_policy(Settings(home=home), "default", shared=False)
    held = run_file_policy(Settings(home=home), "default", shared=True)
    named = run_file_policy(
        Settings(home=home, file_roots=(tmp_path / "data",)), "default", shared=False
    )

    assert free.allows(data)
    assert not free.allows(home / "secret.key")
    assert not free.confine_sql
    assert not held.allows(data)
    assert held.allows(home / "files" / "default" / "orders.duckdb")
    assert not held.allows(home / "files" / "orders.duckdb")
    assert named.allows(data)
    assert named.confine_sql
    assert not named.allows(tmp_path / "elsewhere.duckdb")


def test_a_root_holding_the_home_folder_is_a_settings_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCLINE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SYNCLINE_FILE_ROOTS", os.pathsep.join([str(tmp_path / "a"), str(tmp_path)]))

    with pytest.raises(ConfigError, match="SYNCLINE_FILE_ROOTS folder .* holds SYNCLINE_HOME"):
        load_settings()

    monkeypatch.setenv("SYNCLINE_FILE_ROOTS", str(tmp_path / "home" / "snapshots"))
    with pytest.raises(ConfigError, match="inside the snapshot folder"):
        load_settings()

    monkeypatch.setenv("SYNCLINE_FILE_ROOTS", os.pathsep.join([str(tmp_path / "a"), "b"]))
    assert load_settings().file_roots == (tmp_path / "a", Path("b"))


def test_a_sqlite_model_cannot_attach_another_file(tmp_path: Path) -> None:
    import sqlite3

    from syncline.connectors.sources.sqlite import SQLiteSource
    from syncline.errors import TerminalError

    database = tmp_path / "models.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE t (id INTEGER)")
    attached = tmp_path / "made.db"
    source = SQLiteSource.from_config({"path": str(database)})

    with pytest.raises(TerminalError, match="not authorized"):
        source.describe(f"ATTACH '{attached}' AS other")

    assert not attached.exists()
    assert [c.name for c in source.describe("SELECT id FROM t")] == ["id"]


def _people(path: Path) -> Path:
    """A SQLite file at ``path`` with one row in ``people``."""
    import sqlite3

    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE people (id INTEGER, name TEXT)")
        connection.execute("INSERT INTO people VALUES (1, 'ada')")
    connection.close()
    return path


def test_a_sqlalchemy_url_naming_the_catalog_or_a_file_off_the_roots_is_refused(
    api: Api, tmp_path: Path
) -> None:
    catalog = str(api.home / "syncline.db")
    outside = str(_people(tmp_path / "outside.db"))
    refused = [
        (f"sqlite:///{catalog}", catalog),
        (f"sqlite+pysqlite:///{api.home}/files/../syncline.db", f"{api.home}/files/../syncline.db"),
        (f"sqlite:///file:{outside}?mode=ro&uri=true", outside),
        # The file's own query turns the URL's mode=memory into a second, ignored mode.
        (f"sqlite:///file:{outside}%3Fmode%3Dro%26z%3D?mode=memory&uri=true", outside),
        (f"sqlite+pysqlcipher://:pass-phrase-77@/{outside}", outside),
        (f"duckdb:///{outside}", outside),
    ]

    for url, path in refused:
        response = _source(api, {"url": url}, kind="sqlalchemy")

        assert response.status_code == 422, url
        text = response.text
        assert "configuration.url" in text
        assert repr(path) in text
        assert "SYNCLINE_FILE_ROOTS" in text
        assert "pass-phrase-77" not in text


def test_a_sqlalchemy_source_cannot_be_moved_onto_the_catalog(api: Api) -> None:
    source_id = api.ok("POST", "/sources", json={
        "name": "mem", "slug": "mem", "type": "sqlalchemy",
        "configuration": {"url": "sqlite://"}})["id"]  # fmt: skip

    url = f"sqlite:///{api.home / 'syncline.db'}"
    response = api.patch(f"/sources/{source_id}", json={"configuration": {"url": url}})

    assert response.status_code == 422
    assert "configuration.url" in response.text


def test_a_sqlalchemy_url_inside_the_root_previews_its_rows(api: Api) -> None:
    people = _people(api.home / "files" / "default" / "people.db")
    source_id = api.ok("POST", "/sources", json={
        "name": "p", "slug": "p", "type": "sqlalchemy",
        "configuration": {"url": f"sqlite:///{people}"}})["id"]  # fmt: skip
    body = {"name": "p", "slug": "p", "sourceId": source_id, "queryType": "raw_sql",
            "raw": {"sql": "SELECT id, name FROM people"}, "primaryKey": "id",
            "isSchema": False}  # fmt: skip
    model_id = api.ok("POST", "/models", json=body)["id"]

    preview = api.ok("GET", f"/models/{model_id}/preview")

    assert preview["rows"] == [[1, "ada"]]


def test_a_stored_sqlalchemy_url_on_the_catalog_fails_its_run_unopened(api: Api) -> None:
    files = api.home / "files" / "default"
    with api.catalog.session() as session:
        source_id = session.sources.create(
            name="c", slug="c", type="sqlalchemy",
            configuration={"url": f"sqlite:///{api.home / 'syncline.db'}"},
        ).id  # fmt: skip

    status, run = _run_unchecked_model(api, source_id, "SELECT id, prefix FROM api_keys", "prefix")

    assert status is RunStatus.FAILED
    assert "configuration.url" in run["error"]
    assert "syncline.db" in run["error"]
    assert not (files / "loot").exists()


def _run_unchecked_model(
    api: Api, source_id: int, sql: str, column: str
) -> tuple[RunStatus, dict[str, Any]]:
    """Store ``sql`` as a model unchecked, sync ``column`` into a CSV file in the roots, run
    it once, and return how the run ended and its record."""
    model = {"name": "m", "slug": "m", "sourceId": source_id, "queryType": "raw_sql",
             "raw": {"sql": sql}, "primaryKey": "id", "isSchema": False}  # fmt: skip
    model_id = api.ok("POST", "/models", json=model, params={"skipColumnQuery": "true"})["id"]
    loot = api.home / "files" / "default" / "loot"
    destination_id = api.ok("POST", "/destinations", json={
        "name": "d", "slug": "d", "type": "csv",
        "configuration": {"directory": str(loot)}})["id"]  # fmt: skip
    sync = sync_body(int(model_id), int(destination_id))
    sync["configuration"]["mappings"] = [{"from": column, "to": column}]
    sync_id = api.ok("POST", "/syncs", json=sync)["id"]
    run_id = api.ok("POST", f"/syncs/{sync_id}/trigger")["id"]
    with api.catalog.session() as session:
        session.runs.start(int(run_id), "test-worker")

    status = execute_leased(api.catalog, int(run_id), Settings(home=api.home), alerts=False)

    run = api.ok("GET", f"/syncs/{sync_id}/runs", params={"runId": run_id})["data"][0]
    return status, run
