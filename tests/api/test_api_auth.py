"""Keys, the 401 bodies, health, the rate limit, and the bodies of 404, 405 and 500."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_fixtures import BASE, Api
from fastapi.testclient import TestClient
from sqlalchemy import select

from syncline.api import create_app
from syncline.api.auth import RateLimiter
from syncline.catalog import Catalog
from syncline.catalog.tables import WorkerRecord
from syncline.settings import Settings


def test_no_authorization_header_is_401(api: Api) -> None:
    response = api.client.get(f"{BASE}/sources")

    assert response.status_code == 401
    assert response.json() == {
        "message": "Authentication error",
        "details": "No authorization header found",
    }


@pytest.mark.parametrize(
    "header", ["Bearer sl_not-a-key", "Bearer", "Basic dXNlcjpwdw==", "sl_no-scheme"]
)
def test_unknown_or_malformed_key_is_401(api: Api, header: str) -> None:
    response = api.client.get(f"{BASE}/sources", headers={"Authorization": header})

    assert response.status_code == 401
    assert response.json() == {"message": "Authentication error", "details": "Token is invalid"}


def test_revoked_key_is_refused_at_once(api: Api) -> None:
    assert api.get("/sources").status_code == 200
    with api.catalog.session() as session:
        key_id = session.keys.list()[0].id
        session.keys.revoke(key_id)

    response = api.get("/sources")

    assert response.status_code == 401
    assert response.json()["details"] == "Token is invalid"


def test_keys_are_stored_only_as_hashes(api: Api) -> None:
    with api.catalog.session() as session:
        records = session.keys.list()

    assert records
    for record in records:
        assert api.key not in (record.key_hash, record.prefix)
        assert api.key.startswith(record.prefix)
        assert len(record.key_hash) == 64


def test_a_use_is_noted_on_the_key(api: Api) -> None:
    api.ok("GET", "/sources")

    with api.catalog.session() as session:
        assert session.keys.list()[0].last_used_at is not None


def test_health_needs_no_key(api: Api) -> None:
    response = api.client.get(f"{BASE}/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "catalog": "ok"}


def test_metrics_count_runs_and_resources_of_the_key_workspace(api: Api) -> None:
    with api.catalog.session("other") as session:
        session.sources.create(name="x", slug="x", type="duckdb", configuration={})

    text = api.get("/metrics").text

    assert 'syncline_runs{status="success"} 0' in text
    assert "syncline_sources 0" in text
    assert "syncline_sources 1" in api.get("/metrics", key=api.other_key).text
    assert api.client.get(f"{BASE}/metrics").status_code == 401


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limit_is_per_workspace_with_retry_after(api: Api) -> None:
    clock = _Clock()
    api.client.app.state.rate_limiter = RateLimiter(limit=3, window=10.0, clock=clock)  # type: ignore[attr-defined]

    for _ in range(3):
        assert api.get("/sources").status_code == 200
    clock.now += 4.0
    over = api.get("/sources")

    assert over.status_code == 429
    assert over.json() == {"error": "rate limit exceeded"}
    assert over.headers["Retry-After"] == "6"
    assert api.get("/sources", key=api.other_key).status_code == 200

    clock.now += 6.0
    assert api.get("/sources").status_code == 200


def test_default_rate_limit_is_200_per_10_seconds(api: Api) -> None:
    limiter = api.client.app.state.rate_limiter  # type: ignore[attr-defined]

    assert (limiter.limit, limiter.window) == (200, 10.0)


def test_unknown_endpoint_is_404_with_an_error_body(api: Api) -> None:
    response = api.get("/no-such-thing")

    assert response.status_code == 404
    assert response.json() == {"message": "Not found", "details": "no such endpoint"}


def test_unexpected_error_is_a_bare_500_that_leaks_nothing(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret detail: password=hunter2")

    monkeypatch.setattr("syncline.catalog.connections.SourceRepository.list", explode)

    response = api.get("/sources")

    assert response.status_code == 500
    assert response.json() == "Internal Server Error"
    assert "hunter2" not in response.text
    assert "hunter2" in caplog.text


def test_background_app_runs_a_worker_and_the_scheduler_while_it_serves(
    sqlite_catalog: Catalog, tmp_path: Path
) -> None:
    app = create_app(
        sqlite_catalog, Settings(home=tmp_path, file_roots=(tmp_path,)), background=True
    )

    with TestClient(app) as client:
        assert client.get(f"{BASE}/health").status_code == 200
        with sqlite_catalog.session(read_only=True) as session:
            workers = list(session.orm.scalars(select(WorkerRecord)))
        assert len(workers) == 1
        assert workers[0].stopped_at is None

    with sqlite_catalog.session(read_only=True) as session:
        assert session.orm.scalars(select(WorkerRecord)).one().stopped_at is not None
