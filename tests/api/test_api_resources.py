"""Sources, destinations, models and syncs: create, read, list, change and delete."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
from api_fixtures import Api, make_pipeline, model_body, sync_body, warehouse, webhook

from syncline.connectors import registry
from syncline.engine.config import SyncMode
from syncline.engine.planner.store import snapshot_path
from syncline.engine.report import RunStatus
from syncline.settings import Settings

SECRETS = ("signing-secret", "downstream-token", "hunter2")


def test_created_source_comes_back_with_every_field(api: Api, tmp_path: Path) -> None:
    body = api.ok("POST", "/sources", json=warehouse(tmp_path))

    assert set(body) == {
        "id", "name", "slug", "workspaceId", "createdAt", "updatedAt", "configuration", "type",
    }  # fmt: skip
    assert isinstance(body["id"], int)
    assert body["createdAt"].endswith("Z")
    assert api.ok("GET", f"/sources/{body['id']}") == body


def test_secrets_are_never_returned(api: Api, tmp_path: Path) -> None:
    source = warehouse(tmp_path)
    source["type"] = "postgres"
    source["configuration"] = {"host": "127.0.0.1", "port": "5432", "user": "u",
                               "database": "d", "password": "hunter2"}  # fmt: skip
    answers = [
        api.post("/sources", json=source),
        api.post("/destinations", json=webhook()),
        api.get("/sources/1"),
        api.get("/sources"),
        api.get("/destinations/1"),
        api.get("/destinations"),
        api.patch("/sources/1", json={"configuration": {"port": "5555", "password": "hunter2"}}),
        api.patch("/destinations/1", json={"name": "Hook 2"}),
        api.delete("/destinations/1"),
    ]

    for answer in answers:
        assert answer.status_code == 200, answer.text
        for secret in SECRETS:
            assert secret not in answer.text
    assert "password" not in answers[0].json()["configuration"]
    assert answers[0].json()["configuration"]["host"] == "127.0.0.1"


def test_secret_values_are_not_echoed_in_validation_errors(api: Api) -> None:
    body = webhook(secret=12345)

    answer = api.post("/destinations", json=body)

    assert answer.status_code == 422
    assert answer.json()["details"]["body.configuration.secret"]["value"] is None


def test_patch_merges_configuration_and_keeps_secrets(api: Api) -> None:
    created = api.ok("POST", "/destinations", json=webhook(timeout=10))

    changed = api.ok(
        "PATCH",
        f"/destinations/{created['id']}",
        json={"configuration": {"batch_size": 50, "timeout": None}},
    )

    assert changed["configuration"] == {"url": "http://127.0.0.1:9/hook", "batch_size": 50}
    assert changed["name"] == "Hook"
    with api.catalog.session() as session:
        record = session.destinations.get(created["id"])
        plain = session.destinations.plain_configuration(record)
    assert plain["secret"] == "signing-secret"
    assert plain["headers"] == {"Authorization": "Bearer downstream-token"}
    assert "timeout" not in plain


def test_patch_checks_the_merged_configuration(api: Api) -> None:
    created = api.ok("POST", "/destinations", json=webhook())

    answer = api.patch(
        f"/destinations/{created['id']}",
        json={"name": " ", "configuration": {"url": "ftp://x", "batch_size": 0}},
    )

    assert answer.status_code == 422
    assert set(answer.json()["details"]) == {
        "body.name", "body.configuration.url", "body.configuration.batch_size",
        # a new URL asks for the stored secrets again
        "body.configuration.secret", "body.configuration.headers",
    }  # fmt: skip
    assert api.ok("GET", f"/destinations/{created['id']}")["name"] == "Hook"


def test_create_reports_every_problem_at_once(api: Api) -> None:
    answer = api.post(
        "/sources",
        json={"name": "", "slug": "not a slug", "type": "oracle", "configuration": {}},
    )

    assert answer.status_code == 422
    body = answer.json()
    assert body["message"] == "Validation failed"
    assert set(body["details"]) == {"body.name", "body.slug", "body.type"}
    assert body["details"]["body.slug"]["value"] == "not a slug"
    assert "known types" in body["details"]["body.type"]["message"]


def test_request_validation_errors_use_the_same_shape(api: Api) -> None:
    answer = api.post("/sources", json={"slug": 7, "extra": True})

    assert answer.status_code == 422
    details = answer.json()["details"]
    assert answer.json()["message"] == "Validation failed"
    assert {"body.name", "body.slug", "body.type", "body.configuration", "body.extra"} <= set(
        details
    )
    assert details["body.name"] == {"message": "Field required", "value": None}
    assert details["body.extra"]["value"] is True


def test_a_body_that_is_not_json_is_a_422(api: Api) -> None:
    answer = api.post(
        "/sources", content=b"{not json", headers={"Content-Type": "application/json"}
    )

    assert answer.status_code == 422
    assert answer.json()["message"] == "Validation failed"


def test_duplicate_slug_is_a_409(api: Api, tmp_path: Path) -> None:
    api.ok("POST", "/sources", json=warehouse(tmp_path))

    answer = api.post("/sources", json=warehouse(tmp_path))

    assert answer.status_code == 409
    assert answer.json()["message"] == answer.json()["details"]["body.slug"]["message"]
    assert answer.json()["details"]["body.slug"]["value"] == "warehouse"


def test_delete_refuses_resources_others_depend_on(api: Api, tmp_path: Path) -> None:
    made = make_pipeline(api, tmp_path)

    for path, dependant in (
        (f"/sources/{made.source}", "users"),
        (f"/models/{made.model}", "users-to-hook"),
        (f"/destinations/{made.destination}", "users-to-hook"),
    ):
        answer = api.delete(path)
        assert answer.status_code == 409, path
        ((key, problem),) = answer.json()["details"].items()
        assert key.startswith("path.")
        assert dependant in problem["message"]

    assert api.ok("DELETE", f"/syncs/{made.sync}")["id"] == made.sync
    assert api.ok("DELETE", f"/models/{made.model}")["id"] == made.model
    assert api.ok("DELETE", f"/sources/{made.source}")["id"] == made.source
    assert api.get(f"/syncs/{made.sync}").status_code == 404


def test_not_found_names_the_resource(api: Api) -> None:
    for kind, path in (
        ("source", "/sources"), ("destination", "/destinations"),
        ("model", "/models"), ("sync", "/syncs"),
    ):  # fmt: skip
        answer = api.get(f"{path}/42")
        assert answer.status_code == 404
        assert answer.json() == {"message": "Not found", "details": f"{kind} 42 does not exist"}


def test_lists_page_with_offset_limit_and_has_more(api: Api) -> None:
    for index in range(5):
        api.ok("POST", "/destinations", json=webhook(f"hook-{index}"))

    first = api.ok("GET", "/destinations", params={"limit": 2})
    last = api.ok("GET", "/destinations", params={"limit": 2, "offset": 4})
    whole = api.ok("GET", "/destinations")

    assert [d["slug"] for d in first["data"]] == ["hook-0", "hook-1"]
    assert first["hasMore"] is True
    assert [d["slug"] for d in last["data"]] == ["hook-4"]
    assert last["hasMore"] is False
    assert len(whole["data"]) == 5
    assert whole["hasMore"] is False


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"limit": 1001}, "query.limit"),
        ({"limit": -1}, "query.limit"),
        ({"offset": -1}, "query.offset"),
        ({"orderBy": "lastRunAt"}, "query.orderBy"),
        ({"limit": "many"}, "query.limit"),
    ],
)
def test_bad_list_parameters_are_422(api: Api, params: dict[str, object], key: str) -> None:
    answer = api.get("/sources", params=params)

    assert answer.status_code == 422
    assert key in answer.json()["details"]


def test_lists_filter_by_name_and_slug_and_sort(api: Api) -> None:
    for slug, name in (("b", "Zed"), ("a", "Alpha"), ("c", "Alpha")):
        api.ok("POST", "/destinations", json={**webhook(slug), "name": name})

    by_name = api.ok("GET", "/destinations", params={"orderBy": "name"})["data"]
    alpha = api.ok("GET", "/destinations", params={"name": "Alpha"})["data"]
    only_b = api.ok("GET", "/destinations", params={"slug": "b"})["data"]

    assert [d["slug"] for d in by_name] == ["a", "c", "b"]
    assert [d["slug"] for d in alpha] == ["a", "c"]
    assert [d["slug"] for d in only_b] == ["b"]


def test_models_filter_by_every_given_tag(api: Api, tmp_path: Path) -> None:
    source = api.ok("POST", "/sources", json=warehouse(tmp_path))["id"]
    for slug, tags in (("m1", {"team": "ops", "tier": "1"}), ("m2", {"team": "ops"})):
        api.ok("POST", "/models", json=model_body(source, slug))
        with api.catalog.session() as session:
            session.models.update(slug, tags=tags)

    ops = api.ok("GET", "/models", params={"tags": "team:ops"})["data"]
    tier = api.ok("GET", "/models", params=[("tags", "team:ops"), ("tags", "tier:1")])["data"]
    bad = api.get("/models", params={"tags": "no-colon"})

    assert [m["slug"] for m in ops] == ["m1", "m2"]
    assert [m["slug"] for m in tier] == ["m1"]
    assert bad.status_code == 422
    assert bad.json()["details"]["query.tags"]["value"] == "no-colon"


def test_model_shape_has_nulls_not_gaps(api: Api, tmp_path: Path) -> None:
    source = api.ok("POST", "/sources", json=warehouse(tmp_path))["id"]

    model = api.ok("POST", "/models", json=model_body(source))

    assert model["lastRunSize"] is None
    assert model["raw"] == {"sql": "select id, email, name from users"}
    assert "table" not in model
    assert model["tags"] == {}
    assert model["syncs"] == []
    assert model["description"] == ""


def test_model_column_query_refuses_bad_sql_unless_skipped(api: Api, tmp_path: Path) -> None:
    source = api.ok("POST", "/sources", json=warehouse(tmp_path))["id"]
    body = model_body(source, raw={"sql": "select id from no_such_table"})

    refused = api.post("/models", json=body)
    skipped = api.post("/models", json=body, params={"skipColumnQuery": "true"})

    assert refused.status_code == 422
    assert "no_such_table" in refused.json()["details"]["body.raw.sql"]["message"]
    assert skipped.status_code == 200


def test_model_primary_key_must_be_a_column_of_the_query(api: Api, tmp_path: Path) -> None:
    source = api.ok("POST", "/sources", json=warehouse(tmp_path))["id"]

    answer = api.post("/models", json=model_body(source, primaryKey="user_id"))

    assert answer.status_code == 422
    assert "id, email, name" in answer.json()["details"]["body.primaryKey"]["message"]


def test_table_models_and_numeric_string_ids(api: Api, tmp_path: Path) -> None:
    source = api.ok("POST", "/sources", json=warehouse(tmp_path))["id"]
    body = model_body(str(source), queryType="table", table={"name": "users"})  # type: ignore[arg-type]
    del body["raw"]

    model = api.ok("POST", "/models", json=body)

    assert model["sourceId"] == source
    assert model["table"] == {"name": "users"}
    assert "raw" not in model


def test_model_patch_changes_sql_and_refuses_a_new_query_type(api: Api, tmp_path: Path) -> None:
    made = make_pipeline(api, tmp_path)

    wider = "select id, email, name, 1 as score from users"
    changed = api.ok("PATCH", f"/models/{made.model}", json={"raw": {"sql": wider}})
    wrong = api.patch(f"/models/{made.model}", json={"table": {"name": "users"}})
    immutable = api.patch(f"/models/{made.model}", json={"slug": "new", "sourceId": 9})

    assert changed["raw"]["sql"] == wider
    assert wrong.status_code == 422
    assert immutable.status_code == 422
    assert {"body.slug", "body.sourceId"} <= set(immutable.json()["details"])


def test_new_model_primary_key_moves_its_syncs_to_it(api: Api, tmp_path: Path) -> None:
    made = make_pipeline(api, tmp_path)

    api.ok("PATCH", f"/models/{made.model}", json={"primaryKey": "email"})
    sync = api.ok("GET", f"/syncs/{made.sync}")

    assert sync["primaryKey"] == "email"
    assert sync["referencedColumns"][0] == "email"


def test_sync_shape_and_derived_referenced_columns(api: Api, tmp_path: Path) -> None:
    made = make_pipeline(api, tmp_path)

    sync = api.ok("GET", f"/syncs/{made.sync}")

    assert sync["referencedColumns"] == ["id", "email", "name"]
    assert sync["primaryKey"] == "id"
    assert sync["status"] == "pending"
    assert sync["lastRunAt"] is None
    assert sync["schedule"] is None
    assert sync["nextRunAt"] is None
    assert sync["externalSegment"] == {}
    assert sync["configuration"]["mappings"][0]["type"] == "standard"


def test_sync_create_reports_configuration_schedule_and_references_together(
    api: Api, tmp_path: Path
) -> None:
    made = make_pipeline(api, tmp_path)
    body = sync_body(made.model, 999, slug="second")
    body["configuration"]["mappings"].append({"type": "template", "template": "{{ x", "to": "t"})
    body["schedule"] = {"type": "cron", "schedule": {"expression": "61 * * * *"}}

    answer = api.post("/syncs", json=body)

    assert answer.status_code == 422
    assert set(answer.json()["details"]) == {
        "body.destinationId",
        "body.configuration.mappings.2.template",
        "body.schedule.schedule.expression",
    }


def test_sync_mode_must_be_one_the_destination_supports(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = make_pipeline(api, tmp_path)
    hook = registry.destination_class("webhook")
    only_upsert = dataclasses.replace(hook.capabilities, modes=frozenset({SyncMode.UPSERT}))
    monkeypatch.setattr(hook, "capabilities", only_upsert)
    body = sync_body(made.model, made.destination, slug="appending")
    body["configuration"]["mode"] = "append"

    answer = api.post("/syncs", json=body)

    assert answer.status_code == 422
    problem = answer.json()["details"]["body.configuration.mode"]
    assert "does not support mode 'append'" in problem["message"]
    assert problem["value"] == "append"


def test_a_dbt_cloud_schedule_with_empty_ids_is_refused(api: Api, tmp_path: Path) -> None:
    made = make_pipeline(api, tmp_path)
    body = sync_body(made.model, made.destination, slug="after-dbt")
    body["schedule"] = {"type": "dbt", "schedule": {"account": {"id": ""}, "job": {"id": ""}}}

    answer = api.post("/syncs", json=body)

    assert answer.status_code == 422
    details = answer.json()["details"]
    for key in ("account", "job"):
        problem = details[f"body.schedule.schedule.{key}.id"]
        assert f"'{key}.id' is empty" in problem["message"]
        assert "dbt Cloud URL" in problem["message"]
    assert "after-dbt" not in [sync["slug"] for sync in api.get("/syncs").json()["data"]]


def test_sync_patch_merges_configuration_and_sets_schedule(api: Api, tmp_path: Path) -> None:
    made = make_pipeline(api, tmp_path)
    schedule = {"type": "dbt-cloud", "schedule": {"account": {"id": "1"}, "job": {"id": "2"}}}

    changed = api.ok(
        "PATCH",
        f"/syncs/{made.sync}",
        json={"configuration": {"mappings": [{"from": "email", "to": "email"}]},
              "schedule": schedule, "disabled": True},
    )  # fmt: skip
    kept = api.ok("PATCH", f"/syncs/{made.sync}", json={"disabled": False})
    manual = api.ok("PATCH", f"/syncs/{made.sync}", json={"schedule": None})

    assert changed["configuration"]["object"] == "users"
    assert changed["referencedColumns"] == ["id", "email"]
    assert changed["schedule"] == {**schedule, "type": "dbt"}
    assert changed["disabled"] is True
    assert changed["status"] == "disabled"
    assert kept["schedule"]["type"] == "dbt"
    assert kept["disabled"] is False
    assert manual["schedule"] is None


def test_sync_patch_cannot_move_the_sync(api: Api, tmp_path: Path) -> None:
    made = make_pipeline(api, tmp_path)

    answer = api.patch(f"/syncs/{made.sync}", json={"slug": "x", "modelId": 2})

    assert answer.status_code == 422
    assert {"body.slug", "body.modelId"} <= set(answer.json()["details"])


def test_syncs_filter_by_model_and_last_run(api: Api, tmp_path: Path) -> None:
    made = make_pipeline(api, tmp_path)
    other_model = api.ok("POST", "/models", json=model_body(made.source, "users-2"))["id"]
    api.ok("POST", "/syncs", json=sync_body(other_model, made.destination, slug="second"))
    with api.catalog.session() as session:
        from datetime import UTC, datetime

        session.syncs.get(made.sync).last_run_at = datetime(2024, 5, 1, tzinfo=UTC)

    of_model = api.ok("GET", "/syncs", params={"modelId": other_model})["data"]
    after = api.ok("GET", "/syncs", params={"after": "2024-04-30T00:00:00Z"})["data"]
    before = api.ok("GET", "/syncs", params={"before": "2024-04-30T00:00:00"})["data"]
    by_name = api.ok("GET", "/syncs", params={"orderBy": "name"})["data"]

    assert [s["slug"] for s in of_model] == ["second"]
    assert [s["id"] for s in after] == [made.sync]
    assert before == []
    assert [s["slug"] for s in by_name] == ["second", "users-to-hook"]


def test_a_sync_with_a_run_in_progress_cannot_be_deleted(api: Api, tmp_path: Path) -> None:
    made = make_pipeline(api, tmp_path)
    with api.catalog.session() as session:
        session.runs.enqueue(made.sync)
        session.flush()
        assert session.runs.claim("test-worker") is not None

    answer = api.delete(f"/syncs/{made.sync}")

    assert answer.status_code == 409
    problem = answer.json()["details"]["path.syncId"]
    assert "in progress" in problem["message"]
    assert problem["value"] == made.sync
    assert answer.json()["message"] == problem["message"]
    assert api.ok("GET", f"/syncs/{made.sync}")["status"] == "querying"


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_numbers_json_cannot_hold_are_a_422(api: Api, number: bytes) -> None:
    body = b'{"name": "a", "slug": "a", "type": "webhook", "configuration": {"url": '
    body += b'"http://127.0.0.1:9/x", "timeout": ' + number + b"}}"

    answer = api.post("/destinations", content=body, headers={"Content-Type": "application/json"})

    assert answer.status_code == 422
    assert "is not a number" in answer.json()["details"]["body"]["message"]
    assert api.ok("GET", "/destinations")["data"] == []


@pytest.mark.parametrize("value", ["1714521600", "1.9e-178", "yesterday"])
def test_sync_list_instants_must_be_iso_8601(api: Api, value: str) -> None:
    answer = api.get("/syncs", params={"after": value})

    assert answer.status_code == 422
    assert "query.after" in answer.json()["details"]


def _snapshot(api: Api, sync_id: int) -> Path:
    path = snapshot_path(Settings(home=api.home).snapshot_dir, sync_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"a snapshot")
    return path


def test_a_sync_starts_over_only_when_its_object_or_key_changes(api: Api, tmp_path: Path) -> None:
    made = make_pipeline(api, tmp_path)
    snapshot = _snapshot(api, made.sync)

    api.ok("PATCH", f"/syncs/{made.sync}", json={"configuration": {"mode": "update"}})
    assert snapshot.exists()
    api.ok("PATCH", f"/syncs/{made.sync}", json={"configuration": {"object": "people"}})
    assert not snapshot.exists()

    snapshot = _snapshot(api, made.sync)
    api.ok("PATCH", f"/models/{made.model}", json={"primaryKey": "email"})
    assert not snapshot.exists()


def test_a_mode_that_now_removes_records_warns_of_those_left_before(
    api: Api, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    made = make_pipeline(api, tmp_path)
    shape = api.ok("GET", f"/syncs/{made.sync}")

    with caplog.at_level(logging.WARNING, logger="syncline.api.routes.syncs"):
        changed = api.ok("PATCH", f"/syncs/{made.sync}", json={"configuration": {"mode": "mirror"}})

    assert changed.keys() == shape.keys()
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "sync 'users-to-hook' now has mode 'mirror' (was 'upsert')" in record.getMessage()
    assert "rows removed while it was 'upsert' were not sent" in record.getMessage()
    assert "delete by hand the records there that the model no longer has" in record.getMessage()


def _in_progress(api: Api, sync_id: int) -> int:
    """Start a run of the sync as a worker would; its id."""
    with api.catalog.session() as session:
        session.runs.enqueue(sync_id)
        session.flush()
        run = session.runs.claim("test-worker")
        assert run is not None
        return run.id


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/syncs/{sync}", {"configuration": {"object": "people"}}),
        ("/models/{model}", {"primaryKey": "email"}),
        (
            "/destinations/{destination}",
            {"configuration": {"url": "http://127.0.0.1:9/new", "secret": None, "headers": None}},
        ),
    ],
    ids=["object", "primary-key", "destination"],
)
def test_a_change_that_drops_a_snapshot_waits_for_the_run_in_progress(
    api: Api, tmp_path: Path, path: str, body: dict[str, object]
) -> None:
    made = make_pipeline(api, tmp_path)
    snapshot = _snapshot(api, made.sync)
    run = _in_progress(api, made.sync)
    before = {kind: api.ok("GET", f"/{kind}/{getattr(made, kind[:-1])}") for kind in
              ("syncs", "models", "destinations")}  # fmt: skip
    target = path.format(**dataclasses.asdict(made))

    answer = api.patch(target, json=body)

    # The run sends to the object it planned for: the change waits until it ends.
    assert answer.status_code == 409, answer.text
    (problem,) = answer.json()["details"].values()
    message = problem["message"]
    assert f"run {run} in progress" in message
    assert "cancel it or wait for it to finish" in message
    assert snapshot.exists()
    for kind, shown in before.items():
        assert api.ok("GET", f"/{kind}/{getattr(made, kind[:-1])}") == shown

    with api.catalog.session() as session:
        session.runs.finish(run, RunStatus.SUCCESS)
    api.ok("PATCH", target, json=body)
    assert not snapshot.exists()


def test_a_change_that_keeps_the_snapshot_is_made_during_a_run(api: Api, tmp_path: Path) -> None:
    made = make_pipeline(api, tmp_path)
    _in_progress(api, made.sync)

    changed = api.ok("PATCH", f"/syncs/{made.sync}", json={"configuration": {"mode": "update"}})

    assert changed["configuration"]["mode"] == "update"


def test_deleting_a_sync_deletes_its_snapshot(api: Api, tmp_path: Path) -> None:
    made = make_pipeline(api, tmp_path)
    snapshot = _snapshot(api, made.sync)

    api.ok("DELETE", f"/syncs/{made.sync}")

    assert not snapshot.exists()


def test_sync_interval_longer_than_ten_years_is_a_422_on_create_and_patch(
    api: Api, tmp_path: Path
) -> None:
    made = make_pipeline(api, tmp_path)
    huge = {"type": "interval", "schedule": {"interval": {"unit": "minute", "quantity": 10**11}}}
    body = sync_body(made.model, made.destination, slug="rare")
    body["schedule"] = huge

    created = api.post("/syncs", json=body)
    patched = api.patch(f"/syncs/{made.sync}", json={"schedule": huge})

    for answer in (created, patched):
        assert answer.status_code == 422
        problem = answer.json()["details"]["body.schedule.schedule.interval.quantity"]
        assert "longer than ten years" in problem["message"]
    assert api.ok("GET", "/syncs")["data"]


def test_a_sync_without_mappings_references_every_model_column(api: Api, tmp_path: Path) -> None:
    made = make_pipeline(api, tmp_path)
    body = sync_body(made.model, made.destination, slug="everything")
    body["configuration"]["mappings"] = []

    created = api.ok("POST", "/syncs", json=body)
    patched = api.ok("PATCH", f"/syncs/{made.sync}", json={"configuration": {"mappings": []}})

    assert created["referencedColumns"] == ["id", "email", "name"]
    assert patched["referencedColumns"] == ["id", "email", "name"]


@pytest.mark.parametrize(("mode", "behaviour"), [("mirror", "nothing"), ("insert", "delete")])
def test_a_delete_behaviour_the_mode_ignores_is_a_422(
    api: Api, tmp_path: Path, mode: str, behaviour: str
) -> None:
    made = make_pipeline(api, tmp_path)
    body = sync_body(made.model, made.destination, slug="removing")
    body["configuration"] |= {"mode": mode, "deleteBehavior": behaviour}

    answer = api.post("/syncs", json=body)

    assert answer.status_code == 422
    problem = answer.json()["details"]["body.configuration.deleteBehavior"]
    assert f"mode {mode!r}" in problem["message"]
    assert "remove deleteBehavior" in problem["message"]
    assert problem["value"] == behaviour


def test_a_sync_becomes_a_mirror_without_naming_a_delete_behaviour(
    api: Api, tmp_path: Path
) -> None:
    made = make_pipeline(api, tmp_path)

    mirror = api.ok("PATCH", f"/syncs/{made.sync}", json={"configuration": {"mode": "mirror"}})
    refused = api.patch(f"/syncs/{made.sync}", json={"configuration": {"deleteBehavior": "clear"}})

    assert "deleteBehavior" not in mirror["configuration"]
    assert refused.status_code == 422
    assert "body.configuration.deleteBehavior" in refused.json()["details"]


def test_a_mirror_keyed_anew_is_told_what_it_cannot_remove(
    api: Api, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    made = make_pipeline(api, tmp_path)
    api.ok("PATCH", f"/syncs/{made.sync}", json={"configuration": {"mode": "mirror"}})

    with caplog.at_level("WARNING", logger="syncline.api.routes.models"):
        api.ok("PATCH", f"/models/{made.model}", json={"primaryKey": "email"})

    (record,) = [r for r in caplog.records if r.name == "syncline.api.routes.models"]
    assert "cannot tell which of those it delivered" in record.getMessage()
    # A webhook cannot empty its object, so no clear-and-fill run is offered.
    assert "delete by hand the records there that the model no longer has" in record.getMessage()


@pytest.mark.parametrize("tag", ["team:\x00", "team:o\x00ps"])
def test_a_tag_filter_holding_nul_is_422_on_every_catalog(any_api: Api, tag: str) -> None:
    """PostgreSQL cannot compare text holding NUL: the filter is refused, never a 500."""
    answer = any_api.get("/models", params={"tags": tag})

    assert answer.status_code == 422
    assert answer.json()["details"]["query.tags"]["value"] == tag
