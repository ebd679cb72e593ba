"""Each workspace has file roots of its own: no key reaches another workspace's files.

Also: file destinations follow no symlink out of the roots, path-valued connector
settings such as MySQL's certificates are held to the roots, and the home's own files
are readable by their owner only.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_fixtures import Api, default_roots_api, make_api, sync_body

from syncline.catalog import Catalog
from syncline.engine.report import RunStatus
from syncline.security.files import file_policy
from syncline.security.secrets import SecretBox
from syncline.settings import Settings
from syncline.worker.execute import execute_leased


@pytest.fixture
def api(tmp_path: Path, secret_box: SecretBox) -> Iterator[Api]:
    """The API with the default roots, ``home/files/{workspace}``; two workspaces' keys."""
    with default_roots_api(tmp_path, secret_box) as made:
        yield made


def _warehouse(path: Path) -> Path:
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE TABLE users AS SELECT 1 AS id, 'ada' AS name")
    return path


def _source(api: Api, configuration: dict[str, Any], *, key: str | None = None,
            kind: str = "duckdb") -> Any:  # fmt: skip
    body = {"name": "s", "slug": "s", "type": kind, "configuration": configuration}
    return api.post("/sources", json=body, key=key)


def _run(api: Api, sync_id: Any, workspace: str = "default") -> tuple[RunStatus, dict[str, Any]]:
    key = api.key if workspace == "default" else api.other_key
    run_id = api.ok("POST", f"/syncs/{sync_id}/trigger", key=key)["id"]
    with api.catalog.session(workspace) as session:
        session.runs.start(int(run_id), "test-worker")
    status = execute_leased(api.catalog, int(run_id), Settings(home=api.home), alerts=False)
    run = api.ok("GET", f"/syncs/{sync_id}/runs", params={"runId": run_id}, key=key)
    return status, run["data"][0]


def test_another_workspace_s_warehouse_is_refused_and_its_own_root_is_open(api: Api) -> None:
    theirs = _warehouse(api.home / "files" / "default" / "wh.duckdb")
    ours = _warehouse(api.home / "files" / "other" / "wh.duckdb")

    refused = _source(api, {"path": str(theirs)}, key=api.other_key)
    shared = _source(api, {"path": str(api.home / "files" / "wh.duckdb")}, key=api.other_key)

    assert refused.status_code == 422
    assert "configuration.path" in refused.text
    assert str(api.home / "files" / "other") in refused.text
    assert shared.status_code == 422
    assert _source(api, {"path": str(ours)}, key=api.other_key).status_code == 200
    assert _source(api, {"path": str(theirs)}).status_code == 200


def test_model_sql_of_one_workspace_cannot_list_or_read_another_s_files(api: Api) -> None:
    theirs = api.home / "files" / "default" / "export.csv"
    theirs.parent.mkdir(parents=True)
    theirs.write_text("id,email\n1,ada@example.com\n")
    source_id = _source(api, {}, key=api.other_key).json()["id"]

    def model(sql: str, slug: str) -> Any:
        body = {"name": slug, "slug": slug, "sourceId": source_id, "queryType": "raw_sql",
                "raw": {"sql": sql}, "primaryKey": "id", "isSchema": False}  # fmt: skip
        return api.post("/models", json=body, key=api.other_key)

    listed = model(f"SELECT 1 AS id, file FROM glob('{api.home}/files/**')", "list")
    read = model(f"SELECT * FROM read_csv('{theirs}')", "read")

    assert listed.status_code == 422
    assert "export.csv" not in listed.text
    assert read.status_code == 422
    assert "ada@example.com" not in read.text


def test_a_stored_path_into_another_workspace_fails_its_run_unopened(api: Api) -> None:
    theirs = _warehouse(api.home / "files" / "default" / "wh.duckdb")
    with api.catalog.session("other") as session:
        source_id = session.sources.create(
            name="s", slug="s", type="duckdb", configuration={"path": str(theirs)}
        ).id
    ours = api.home / "files" / "other" / "out"
    model = {"name": "m", "slug": "m", "sourceId": source_id, "queryType": "raw_sql",
             "raw": {"sql": "SELECT id, name FROM users"}, "primaryKey": "id",
             "isSchema": False}  # fmt: skip
    model_id = api.ok("POST", "/models", json=model, key=api.other_key,
                      params={"skipColumnQuery": "true"})["id"]  # fmt: skip
    destination_id = api.ok("POST", "/destinations", key=api.other_key, json={
        "name": "d", "slug": "d", "type": "csv",
        "configuration": {"directory": str(ours)}})["id"]  # fmt: skip
    sync = sync_body(int(model_id), int(destination_id))
    sync["configuration"]["mappings"] = [{"from": "name", "to": "name"}]
    sync_id = api.ok("POST", "/syncs", json=sync, key=api.other_key)["id"]

    status, run = _run(api, sync_id, "other")

    assert status is RunStatus.FAILED
    assert "configuration.path" in run["error"]
    assert not (ours / "users").exists()


def test_a_sqlite_destination_cannot_overwrite_another_workspace_s_file(api: Api) -> None:
    theirs = api.home / "files" / "default" / "app.db"
    body = {"name": "d", "slug": "d", "type": "sqlite", "configuration": {"path": str(theirs)}}

    response = api.post("/destinations", json=body, key=api.other_key)
    url = _source(api, {"url": f"sqlite:///{theirs}"}, key=api.other_key, kind="sqlalchemy")

    assert response.status_code == 422
    assert url.status_code == 422
    assert "configuration.url" in url.text


def test_a_workspace_placeholder_in_the_roots_gives_each_workspace_its_folder(
    tmp_path: Path,
) -> None:
    settings = Settings(home=tmp_path / "home", file_roots=(tmp_path / "data" / "{workspace}",))

    ours = file_policy(settings, "other")

    assert ours.roots == ((tmp_path / "data" / "other").resolve(),)
    assert ours.allows(tmp_path / "data" / "other" / "wh.duckdb")
    assert not ours.allows(tmp_path / "data" / "default" / "wh.duckdb")
    assert file_policy(Settings(home=tmp_path / "home"), "b").roots == (
        (tmp_path / "home" / "files" / "b").resolve(),
    )


def test_serve_warns_when_roots_without_the_placeholder_serve_many_workspaces(
    tmp_path: Path,
) -> None:
    from syncline.security.files import shared_roots_warning

    shared = Settings(home=tmp_path / "home", file_roots=(tmp_path / "data",))
    split = Settings(home=tmp_path / "home", file_roots=(tmp_path / "data" / "{workspace}",))

    message = shared_roots_warning(shared, ["default", "other"])

    assert message is not None
    assert str(tmp_path / "data") in message
    assert "{workspace}" in message
    assert shared_roots_warning(shared, ["default"]) is None
    assert shared_roots_warning(split, ["default", "other"]) is None
    assert shared_roots_warning(Settings(home=tmp_path / "home"), ["a", "b"]) is None


def _csv_destination(api: Api, directory: Path) -> int:
    return int(api.ok("POST", "/destinations", json={
        "name": "d", "slug": "d", "type": "csv",
        "configuration": {"directory": str(directory)}})["id"])  # fmt: skip


def _csv_sync(api: Api, directory: Path, object_name: str) -> Any:
    source_id = api.ok("POST", "/sources", json={
        "name": "mem", "slug": "mem", "type": "duckdb", "configuration": {}})["id"]  # fmt: skip
    model = {"name": "m", "slug": "m", "sourceId": source_id, "queryType": "raw_sql",
             "raw": {"sql": "SELECT 1 AS id, 'ada' AS name"}, "primaryKey": "id",
             "isSchema": False}  # fmt: skip
    model_id = api.ok("POST", "/models", json=model)["id"]
    sync = sync_body(int(model_id), _csv_destination(api, directory))
    sync["configuration"]["object"] = object_name
    sync["configuration"]["mappings"] = [{"from": "name", "to": "name"}]
    return api.ok("POST", "/syncs", json=sync)["id"]


def test_a_symlinked_folder_in_the_root_does_not_let_a_run_write_outside(api: Api) -> None:
    out = api.home / "files" / "default" / "out"
    out.mkdir(parents=True)
    (out / "linkh").symlink_to(api.home)
    sync_id = _csv_sync(api, out, "linkh/snapshots/evil.csv")

    status, run = _run(api, sync_id)

    assert status is RunStatus.FAILED
    assert "linkh/snapshots/evil.csv" in run["error"]
    assert not (api.home / "snapshots" / "evil.csv").exists()


def test_a_symlinked_file_outside_the_root_is_neither_read_nor_written(
    api: Api, tmp_path: Path
) -> None:
    outside = tmp_path / "x.csv"
    outside.write_text('"secret_column"\n"v"\n')
    out = api.home / "files" / "default" / "out"
    out.mkdir(parents=True)
    (out / "g.csv").symlink_to(outside)
    sync_id = _csv_sync(api, out, "g.csv")
    destination_id = api.ok("GET", f"/syncs/{sync_id}")["destinationId"]

    fields = api.get(f"/destinations/{destination_id}/fields", params={"object": "g.csv"})
    status, run = _run(api, sync_id)

    assert fields.status_code == 422
    assert "secret_column" not in fields.text
    assert str(out / "g.csv") in fields.text
    assert status is RunStatus.FAILED
    assert str(out / "g.csv") in run["error"]
    assert outside.read_text() == '"secret_column"\n"v"\n'


def test_mysql_certificate_files_are_held_to_the_roots(api: Api, tmp_path: Path) -> None:
    outside = tmp_path / "probe.pem"
    outside.write_text("not a certificate")
    configuration = {"host": "127.0.0.1", "user": "root", "database": "test",
                     "ssl_ca": str(outside),
                     "ssl_cert": "/etc/passwd", "ssl_key": "/nonexistent/key.pem"}  # fmt: skip

    created = _source(api, configuration, kind="mysql")
    with api.catalog.session("default") as session:
        stored = session.sources.create(
            name="m", slug="m", type="mysql", configuration=configuration
        ).id
    tried = api.ok("POST", f"/sources/{stored}/test")

    assert created.status_code == 422
    for field in ("configuration.ssl_ca", "configuration.ssl_cert", "configuration.ssl_key"):
        assert field in created.text
        assert field in tried["message"]
    assert tried["success"] is False


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_catalog_and_snapshots_are_readable_by_the_owner_only(
    tmp_path: Path, secret_box: SecretBox
) -> None:
    home = tmp_path / "fresh"
    catalog = Catalog.from_url(f"sqlite:///{home / 'syncline.db'}", secrets=secret_box)
    try:
        with make_api(catalog, home, file_roots=()) as api:
            _run(api, _csv_sync(api, home / "files" / "default" / "out", "users.csv"))
    finally:
        catalog.close()

    assert _mode(home) == 0o700
    assert _mode(home / "syncline.db") == 0o600
    assert _mode(home / "snapshots") == 0o700
    made = [p for p in (home / "snapshots").iterdir() if p.is_file()]
    assert made
    assert all(_mode(p) & 0o077 == 0 for p in made), [(p, oct(_mode(p))) for p in made]
    assert _mode(home / "files") == 0o700


def test_the_warning_is_logged_at_start(
    tmp_path: Path, secret_box: SecretBox, caplog: pytest.LogCaptureFixture
) -> None:
    from syncline.cli.serving import warn_of_shared_roots

    catalog = Catalog.from_url(f"sqlite:///{tmp_path / 'c.db'}", secrets=secret_box)
    try:
        with catalog.session() as session:
            session.workspaces.create("other")
        settings = Settings(home=tmp_path / "home", file_roots=(tmp_path / "data",))
        with caplog.at_level(logging.WARNING):
            warn_of_shared_roots(catalog, settings)
    finally:
        catalog.close()

    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "every workspace" in caplog.records[0].getMessage()
    assert os.sep + "{workspace}" in caplog.records[0].getMessage()


def test_a_workspace_root_whose_folder_holds_the_home_is_a_settings_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from syncline.errors import ConfigError
    from syncline.settings import load_settings

    monkeypatch.setenv("SYNCLINE_HOME", str(tmp_path / "home"))
    # A workspace named "snapshots" would make this root the snapshot folder.
    monkeypatch.setenv("SYNCLINE_FILE_ROOTS", str(tmp_path / "home" / "{workspace}"))

    with pytest.raises(ConfigError, match="holds SYNCLINE_HOME"):
        load_settings()

    monkeypatch.setenv("SYNCLINE_FILE_ROOTS", str(tmp_path / "data" / "{workspace}"))
    assert load_settings().file_roots == (tmp_path / "data" / "{workspace}",)


def test_a_recovery_mark_naming_a_file_outside_the_root_leaves_it_whole(
    api: Api, tmp_path: Path
) -> None:
    import json

    outside = tmp_path / "precious.txt"
    outside.write_text("keep every byte")
    out = api.home / "files" / "default" / "out"
    sync_id = _csv_sync(api, out, "users.csv")
    marks = out / ".syncline" / f"sync-{sync_id}" / "appends"
    marks.mkdir(parents=True)
    (marks / "planted.json").write_text(json.dumps({"path": str(outside), "size": 0}))

    status, _ = _run(api, sync_id)

    assert status is RunStatus.SUCCESS
    assert outside.read_text() == "keep every byte"
    assert not (marks / "planted.json").exists()
