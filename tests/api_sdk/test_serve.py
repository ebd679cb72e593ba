"""``syncline serve`` as a process: it stops cleanly on signals, and --no-worker runs nothing."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
from sdk_harness import SYNCLINE, free_port, live_server, stop, syncline, syncline_env


def test_serve_stops_on_sigterm_after_stopping_its_scheduler_and_workers(
    tmp_path: Path,
) -> None:
    with live_server(tmp_path) as server:
        server.process.send_signal(signal.SIGTERM)
        code = server.process.wait(30)
        log = server.output()

    assert code == 0, log
    assert "scheduler stopped" in log
    assert "stopped serving on 127.0.0.1" in log
    assert "Traceback" not in log


def _created(api: httpx.Client, path: str, body: dict[str, Any]) -> None:
    response = api.post(path, json=body)
    assert response.status_code == 200, response.text


def test_no_worker_leaves_triggered_runs_queued(tmp_path: Path) -> None:
    # SYNCLINE_HOME is tmp_path: API clients may use their workspace's folder of ``files``.
    files = tmp_path / "files" / "default"
    files.mkdir(parents=True)
    warehouse = files / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("CREATE TABLE people AS SELECT 1 AS id")
    source = {"path": str(warehouse)}
    destination = {"path": str(files / "destination.db")}
    with live_server(tmp_path, "--no-worker") as server, server.http() as api:
        _created(api, "/sources", {"name": "w", "slug": "w", "type": "duckdb",
                                   "configuration": source})  # fmt: skip
        _created(api, "/models", {"name": "m", "slug": "m", "queryType": "raw_sql",
                                  "sourceId": 1, "isSchema": False, "primaryKey": "id",
                                  "raw": {"sql": "SELECT id FROM people"}})  # fmt: skip
        _created(api, "/destinations", {"name": "d", "slug": "d", "type": "sqlite",
                                        "configuration": destination})  # fmt: skip
        _created(api, "/syncs", {"slug": "s", "modelId": 1, "destinationId": 1,
                                 "schedule": None, "disabled": False,
                                 "configuration": {"mode": "upsert", "object": "t"}})  # fmt: skip

        run_id = api.post("/syncs/1/trigger").json()["id"]
        time.sleep(1.5)
        runs = api.get("/syncs/1/runs").json()["data"]

        assert [(r["id"], r["status"]) for r in runs] == [(int(run_id), "queued")]
        assert "no worker" in server.output()

    # Leaving live_server sent SIGINT, as Ctrl-C does: the shutdown is as orderly.
    assert stop(server) == 0
    assert "stopped serving on 127.0.0.1" in server.output()
    assert "Traceback" not in server.output()


def test_a_taken_port_is_one_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [str(SYNCLINE), "serve", "--port", str(port)],
            env=syncline_env(tmp_path), capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "--port" in done.stderr


def test_serve_help_names_the_loopback_default(tmp_path: Path) -> None:
    shown = syncline(syncline_env(tmp_path), "serve", "--help")

    assert shown.returncode == 0
    assert "127.0.0.1" in shown.stdout
    assert "--no-worker" in shown.stdout


def _second_serve(home: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SYNCLINE), "serve", "--port", str(free_port()), *extra],
        env=syncline_env(home), capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_a_second_serve_of_a_sqlite_catalog_is_refused_before_it_schedules(
    tmp_path: Path,
) -> None:
    with live_server(tmp_path, "--no-worker"):
        without_worker = _second_serve(tmp_path, "--no-worker")
        with_worker = _second_serve(tmp_path)

    for refused in (without_worker, with_worker):
        assert refused.returncode == 2, refused.stderr
        assert "already serving this SQLite catalog" in refused.stderr
        # Refused before anything started: no scheduler ticked, no address was printed.
        assert "scheduler" not in refused.stderr
        assert "web UI on" not in refused.stderr
    # Once the first one stopped, serving the catalog is free again.
    with live_server(tmp_path, "--no-worker"):
        pass


def test_serve_with_a_worker_beside_a_sqlite_worker_is_refused_before_it_schedules(
    tmp_path: Path,
) -> None:
    env = syncline_env(tmp_path)
    assert syncline(env, "keys", "create", "--name", "k").returncode == 0
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen([str(SYNCLINE), "worker"], env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 30
        while "registered" not in log.read_text(errors="replace"):
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.1)
        refused = _second_serve(tmp_path)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)

    assert refused.returncode == 2, refused.stderr
    assert "a worker is already serving this SQLite catalog" in refused.stderr
    assert "scheduler" not in refused.stderr
