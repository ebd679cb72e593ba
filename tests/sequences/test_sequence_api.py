"""The /sync-sequences endpoints: Hightouch's trigger and status, our definitions, isolation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sequence_fixtures import finish_run

from syncline.api import create_app
from syncline.catalog import Catalog, SyncRecord
from syncline.scheduling.sequences import advance
from syncline.settings import Settings


@dataclass
class Client:
    """A test client with a key of ``default`` and one of ``other``."""

    http: TestClient
    key: str
    other_key: str

    def call(self, method: str, path: str, *, other: bool = False, **kwargs: Any) -> Any:
        key = self.other_key if other else self.key
        headers = {"Authorization": f"Bearer {key}"}
        return self.http.request(method, f"/api/v1{path}", headers=headers, **kwargs)


@pytest.fixture
def client(catalog: Catalog, syncs: list[SyncRecord], tmp_path: Path) -> Iterator[Client]:
    with catalog.session() as session:
        key = session.keys.create("tests").key
        session.workspaces.create("other")
    with catalog.session("other") as session:
        other_key = session.keys.create("tests").key
    app = create_app(catalog, Settings(home=tmp_path), background=False)
    with TestClient(app, raise_server_exceptions=False) as http:
        yield Client(http, key, other_key)


def _create(client: Client, syncs: list[SyncRecord], **extra: Any) -> dict[str, Any]:
    body = {
        "slug": "nightly",
        "steps": [
            {"syncId": syncs[0].id, "stopOn": "fatal_or_rejected"},
            {"syncId": syncs[1].id},
        ],
        **extra,
    }
    response = client.call("POST", "/sync-sequences", json=body)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


def test_create_read_list_update_delete(client: Client, syncs: list[SyncRecord]) -> None:
    created = _create(
        client, syncs, schedule={"type": "interval", "schedule": {"interval": {"unit": "hour",
                                                                               "quantity": 1}}}
    )  # fmt: skip
    assert created["name"] == "nightly"
    assert created["steps"] == [
        {"syncId": syncs[0].id, "stopOn": "fatal_or_rejected"},
        {"syncId": syncs[1].id, "stopOn": "fatal"},
    ]
    assert created["schedule"]["type"] == "interval"

    path = f"/sync-sequences/{created['id']}"
    assert client.call("GET", path).json() == created
    assert client.call("GET", "/sync-sequences/nightly").json()["id"] == created["id"]
    listed = client.call("GET", "/sync-sequences").json()
    assert listed == {"data": [created], "hasMore": False}

    changed = client.call("PATCH", path, json={"name": "Nightly", "schedule": None}).json()
    assert (changed["name"], changed["schedule"], changed["steps"]) == (
        "Nightly", None, created["steps"],
    )  # fmt: skip
    kept = client.call("PATCH", path, json={"disabled": True}).json()
    assert kept["name"] == "Nightly"

    assert client.call("DELETE", path).status_code == 200
    gone = client.call("GET", path)
    assert gone.status_code == 404
    assert gone.json()["message"] == "Not found"


def test_trigger_and_status(catalog: Catalog, client: Client, syncs: list[SyncRecord]) -> None:
    sequence = _create(client, syncs)
    first = client.call("POST", f"/sync-sequences/{sequence['id']}/trigger")
    again = client.call("POST", f"/sync-sequences/{sequence['id']}/trigger", json={})
    assert first.status_code == 200
    assert first.json() == again.json(), "repeated triggers return the same pending run"
    run_id = first.json()["id"]

    status = client.call("GET", f"/sync-sequences/runs/{run_id}").json()
    assert status == {"id": run_id, "status": "pending", "syncRuns": []}

    advance(catalog)
    status = client.call("GET", f"/sync-sequences/runs/{run_id}").json()
    finish_run(catalog, status["syncRuns"][0]["syncRunId"], "success")
    advance(catalog)
    finish_run(catalog, client.call("GET", f"/sync-sequences/runs/{run_id}").json()["syncRuns"][1]
               ["syncRunId"], "warning")  # fmt: skip
    advance(catalog)

    done = client.call("GET", f"/sync-sequences/runs/{run_id}").json()
    assert done["status"] == "done"
    assert [(r["syncId"], r["status"]) for r in done["syncRuns"]] == [
        (syncs[0].id, "success"),
        (syncs[1].id, "warning"),
    ]
    assert all(r["finishedAt"].endswith("+00:00") for r in done["syncRuns"])

    runs = client.call("GET", f"/sync-sequences/{sequence['id']}/runs").json()
    [listed] = runs["data"]
    assert (listed["id"], listed["status"], listed["triggeredBy"]) == (run_id, "done", "api")
    assert listed["finishedAt"].endswith("Z")


def test_cancel_a_pending_run(client: Client, syncs: list[SyncRecord]) -> None:
    sequence = _create(client, syncs)
    run_id = client.call("POST", f"/sync-sequences/{sequence['id']}/trigger").json()["id"]
    cancelled = client.call("POST", f"/sync-sequences/runs/{run_id}/cancel").json()
    assert cancelled["status"] == "cancelled"


def test_errors_are_404_409_and_422(client: Client, syncs: list[SyncRecord]) -> None:
    assert client.call("POST", "/sync-sequences/no-such/trigger").status_code == 404
    assert client.call("GET", "/sync-sequences/runs/no-such").status_code == 404

    bad = client.call(
        "POST",
        "/sync-sequences",
        json={"slug": "x", "steps": [{"syncId": 999, "stopOn": "fatal"}],
              "schedule": {"type": "weekly"}},
    )  # fmt: skip
    assert bad.status_code == 422
    assert set(bad.json()["details"]) == {"body.steps.0.syncId", "body.schedule.type"}
    assert bad.json()["details"]["body.schedule.type"]["value"] == "weekly"
    wrong_rule = client.call(
        "POST", "/sync-sequences", json={"slug": "x", "steps": [{"syncId": 1, "stopOn": "x"}]}
    )
    assert wrong_rule.status_code == 422
    empty = client.call("POST", "/sync-sequences", json={"slug": "x", "steps": []})
    assert empty.status_code == 422

    _create(client, syncs)
    taken = client.call(
        "POST", "/sync-sequences", json={"slug": "nightly", "steps": [{"syncId": syncs[0].id}]}
    )
    assert taken.status_code == 409

    client.call("PATCH", "/sync-sequences/nightly", json={"disabled": True})
    disabled = client.call("POST", "/sync-sequences/nightly/trigger")
    assert disabled.status_code == 422
    assert "disabled" in disabled.text


def test_another_workspace_sees_nothing(client: Client, syncs: list[SyncRecord]) -> None:
    sequence = _create(client, syncs)
    run_id = client.call("POST", f"/sync-sequences/{sequence['id']}/trigger").json()["id"]

    for method, path in [
        ("GET", f"/sync-sequences/{sequence['id']}"),
        ("PATCH", f"/sync-sequences/{sequence['id']}"),
        ("DELETE", f"/sync-sequences/{sequence['id']}"),
        ("POST", f"/sync-sequences/{sequence['id']}/trigger"),
        ("GET", f"/sync-sequences/{sequence['id']}/runs"),
        ("GET", f"/sync-sequences/runs/{run_id}"),
        ("POST", f"/sync-sequences/runs/{run_id}/cancel"),
    ]:
        kwargs = {"json": {}} if method == "PATCH" else {}
        response = client.call(method, path, other=True, **kwargs)
        assert response.status_code == 404, (method, path, response.text)
    assert client.call("GET", "/sync-sequences", other=True).json()["data"] == []

    # Steps may name only syncs of the key's own workspace.
    foreign = client.call(
        "POST", "/sync-sequences", other=True,
        json={"slug": "mine", "steps": [{"syncId": syncs[0].id}]},
    )  # fmt: skip
    assert foreign.status_code == 422
    assert client.call("GET", f"/sync-sequences/{sequence['id']}").status_code == 200


def test_unknown_keys_are_refused(client: Client, syncs: list[SyncRecord]) -> None:
    response = client.call(
        "POST", "/sync-sequences", json={"slug": "x", "steps": [{"syncId": syncs[0].id}], "y": 1}
    )
    assert response.status_code == 422
    assert "body.y" in response.json()["details"]


def test_runs_of_other_sequences_are_not_listed(
    catalog: Catalog, client: Client, syncs: list[SyncRecord]
) -> None:
    first = _create(client, syncs)
    second = client.call(
        "POST", "/sync-sequences", json={"slug": "other", "steps": [{"syncId": syncs[2].id}]}
    ).json()
    client.call("POST", f"/sync-sequences/{first['id']}/trigger")
    assert client.call("GET", f"/sync-sequences/{second['id']}/runs").json()["data"] == []


def test_odd_ids_and_names_are_client_errors(client: Client, syncs: list[SyncRecord]) -> None:
    # A NUL reaches the route percent-encoded; PostgreSQL would refuse to compare it.
    assert client.call("GET", "/sync-sequences/a%00b").status_code == 404
    assert client.call("GET", "/sync-sequences/runs/a%00b").status_code == 404
    assert client.call("GET", f"/sync-sequences/{'x' * 300}").status_code == 422

    blank = client.call(
        "POST", "/sync-sequences", json={"slug": "x", "name": "  ", "steps": [{"syncId": 1}]}
    )
    assert blank.status_code == 422
    assert "body.name" in blank.json()["details"]


def test_a_sequence_cannot_take_a_slug_the_routes_use(
    client: Client, syncs: list[SyncRecord]
) -> None:
    body = {"slug": "runs", "steps": [{"syncId": syncs[0].id}]}

    response = client.call("POST", "/sync-sequences", json=body)

    assert response.status_code == 422, response.text
    problem = response.json()["details"]["body.slug"]
    assert "/sync-sequences/runs/" in problem["message"]
    assert problem["value"] == "runs"
    assert client.call("GET", "/sync-sequences").json()["data"] == []


def test_a_sequence_s_slug_cannot_change(client: Client, syncs: list[SyncRecord]) -> None:
    created = _create(client, syncs)

    response = client.call("PATCH", f"/sync-sequences/{created['id']}", json={"slug": "other"})

    assert response.status_code == 422, response.text
    assert "the slug cannot change" in response.json()["details"]["body.slug"]["message"]
    assert client.call("GET", f"/sync-sequences/{created['id']}").json()["slug"] == "nightly"


def test_deleting_a_sync_a_sequence_uses_is_a_409_naming_the_sequence(
    client: Client, syncs: list[SyncRecord]
) -> None:
    _create(client, syncs)

    answer = client.call("DELETE", f"/syncs/{syncs[0].id}")

    assert answer.status_code == 409, answer.text
    detail = answer.json()["details"]["path.syncId"]
    assert detail["message"] == (
        "sync 'first' is used by sync sequences nightly; "
        "delete or change those sync sequences first"
    )
    assert client.call("GET", f"/syncs/{syncs[0].id}").status_code == 200


def test_steps_cannot_change_under_a_running_run(
    catalog: Catalog, client: Client, syncs: list[SyncRecord]
) -> None:
    steps = [{"syncId": sync.id, "stopOn": "fatal"} for sync in syncs]
    sequence = _create(client, syncs, steps=steps)
    run_id = client.call("POST", f"/sync-sequences/{sequence['id']}/trigger").json()["id"]
    advance(catalog)
    first = client.call("GET", f"/sync-sequences/runs/{run_id}").json()["syncRuns"][0]
    finish_run(catalog, first["syncRunId"], "success")
    advance(catalog)  # step 2 is now running

    reordered = [steps[1], steps[0], steps[2]]
    refused = client.call("PATCH", f"/sync-sequences/{sequence['id']}", json={"steps": reordered})
    assert refused.status_code == 409, refused.text
    assert run_id in refused.text
    assert "in progress" in refused.text

    for _ in range(2):
        status = client.call("GET", f"/sync-sequences/runs/{run_id}").json()
        finish_run(catalog, status["syncRuns"][-1]["syncRunId"], "success")
        advance(catalog)
    done = client.call("GET", f"/sync-sequences/runs/{run_id}").json()
    assert done["status"] == "done"
    assert [r["syncId"] for r in done["syncRuns"]] == [sync.id for sync in syncs]
    changed = client.call("PATCH", f"/sync-sequences/{sequence['id']}", json={"steps": reordered})
    assert changed.status_code == 200, "once the run ends the steps may change"


def test_runs_are_listed_ascending_by_order_by(client: Client, syncs: list[SyncRecord]) -> None:
    sequence = _create(client, syncs)
    triggered = []
    for _ in range(3):
        run_id = client.call("POST", f"/sync-sequences/{sequence['id']}/trigger").json()["id"]
        client.call("POST", f"/sync-sequences/runs/{run_id}/cancel")
        triggered.append(run_id)
    path = f"/sync-sequences/{sequence['id']}/runs"

    listed = client.call("GET", path).json()["data"]
    by_finish = client.call("GET", path, params={"orderBy": "finishedAt"}).json()["data"]
    bogus = client.call("GET", path, params={"orderBy": "bogus"})

    assert [run["id"] for run in listed] == triggered
    assert [run["id"] for run in by_finish] == triggered
    assert bogus.status_code == 422, bogus.text
    assert "orderBy" in bogus.text


def test_every_problem_of_the_steps_is_reported_at_once(
    client: Client, syncs: list[SyncRecord]
) -> None:
    steps = [{"syncId": 999}, {"syncId": syncs[1].id, "stopOn": "sometimes"}]

    bad = client.call("POST", "/sync-sequences", json={"slug": "x", "steps": steps})

    assert bad.status_code == 422, bad.text
    details = bad.json()["details"]
    assert set(details) == {"body.steps.0.syncId", "body.steps.1.stopOn"}
    assert "fatal, fatal_or_rejected, never" in details["body.steps.1.stopOn"]["message"]
    schema = client.http.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert schema["SequenceStep"]["properties"]["stopOn"]["enum"] == [
        "fatal", "fatal_or_rejected", "never"
    ]  # fmt: skip


def test_a_trigger_with_flags_is_refused_naming_them(
    client: Client, syncs: list[SyncRecord]
) -> None:
    sequence = _create(client, syncs)
    path = f"/sync-sequences/{sequence['id']}/trigger"

    flagged = client.call("POST", path, json={"fullResync": True, "colour": "red"})
    as_form = client.call("POST", path, data={"fullResync": "true"})

    assert flagged.status_code == 422, flagged.text
    details = flagged.json()["details"]
    assert set(details) == {"body.fullResync", "body.colour"}
    assert "takes no flags" in details["body.fullResync"]["message"]
    assert as_form.status_code == 422, as_form.text
    assert client.call("GET", f"/sync-sequences/{sequence['id']}/runs").json()["data"] == []
    assert client.call("POST", path).status_code == 200
