"""Alert policies through the API: a destination's default and a sync's override.

The API checks a policy as a project file's ``alerts:`` is checked, stores it as the
web UI does (recipients' secrets sealed), and never sends a secret back.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from api_fixtures import BASE, Api, Pipeline, make_pipeline
from sqlalchemy import select

from syncline.alerts.store import read_policy
from syncline.catalog.tables import AlertPolicyRecord

SLACK_URL = "https://hooks.example.org/services/T000/B000/very-secret-path"

DESTINATION_POLICY: dict[str, Any] = {
    "triggers": {"slowRun": {"after": "30m", "level": "critical"}, "rowCountDrop": {"share": 0.5}},
    "recipients": [
        {"type": "slack", "url": SLACK_URL, "level": "critical"},
        {"type": "webhook", "url": "http://127.0.0.1:9/alerts",
         "headers": {"X-Token": "header-secret"}},
        {"type": "email", "host": "127.0.0.1", "port": 2525, "from": "syncline@example.org",
         "to": ["oncall@example.org"], "username": "syncline", "password": "smtp-secret"},
    ],
}  # fmt: skip


@pytest.fixture
def pipeline(api: Api, tmp_path: Path) -> Pipeline:
    """A DuckDB source, webhook destination, model and sync in the default workspace."""
    return make_pipeline(api, tmp_path)


def test_without_a_policy_every_trigger_reads_as_its_default(api: Api, pipeline: Pipeline) -> None:
    defaults = {
        "triggers": {"rejectedRows": None, "slowRun": None, "rowCountDrop": None},
        "recipients": None,
    }

    assert api.ok("GET", f"/destinations/{pipeline.destination}/alerts") == defaults
    assert api.ok("GET", f"/syncs/{pipeline.sync}/alerts") == {**defaults, "effective": defaults}


def test_a_destination_policy_is_stored_and_read_back_without_secrets(
    api: Api, pipeline: Pipeline
) -> None:
    path = f"/destinations/{pipeline.destination}/alerts"

    written = api.ok("PUT", path, json=DESTINATION_POLICY)
    read = api.ok("GET", path)

    assert written == read
    assert read["triggers"] == {
        "rejectedRows": None,
        "slowRun": {"after": 1800.0, "level": "critical"},
        "rowCountDrop": {"share": 0.5, "level": "warning"},
    }
    assert read["recipients"] == [
        {"type": "slack", "level": "critical"},
        {"type": "webhook", "level": "warning"},
        {"type": "email", "level": "warning", "host": "127.0.0.1", "port": 2525,
         "from": "syncline@example.org", "to": ["oncall@example.org"], "starttls": False,
         "username": "syncline"},
    ]  # fmt: skip
    for secret in (SLACK_URL, "header-secret", "smtp-secret"):
        assert secret not in str(read)


def test_recipients_secrets_are_sealed_at_rest_and_kept_for_the_notifier(
    api: Api, pipeline: Pipeline
) -> None:
    api.ok("PUT", f"/destinations/{pipeline.destination}/alerts", json=DESTINATION_POLICY)

    with api.catalog.session() as session:
        record = session.orm.scalars(select(AlertPolicyRecord)).one()
        stored = str(record.configuration)
        revealed = read_policy(
            session.orm, api.catalog.secrets, destination_id=pipeline.destination
        )

    for secret in (SLACK_URL, "header-secret", "smtp-secret"):
        assert secret not in stored
    assert revealed is not None
    assert revealed["recipients"][0]["url"] == SLACK_URL
    assert revealed["recipients"][2]["password"] == "smtp-secret"


def test_a_sync_override_is_laid_over_its_destination_s_policy(
    api: Api, pipeline: Pipeline
) -> None:
    api.ok("PUT", f"/destinations/{pipeline.destination}/alerts", json=DESTINATION_POLICY)
    override = {"triggers": {"rejectedRows": {"count": 5}, "slowRun": False}}

    written = api.ok("PUT", f"/syncs/{pipeline.sync}/alerts", json=override)
    read = api.ok("GET", f"/syncs/{pipeline.sync}/alerts")

    assert written["triggers"]["rejectedRows"] == {"count": 5, "share": None, "level": "warning"}
    assert written["recipients"] is None
    effective = read["effective"]
    assert effective["triggers"]["rejectedRows"]["count"] == 5
    assert effective["triggers"]["slowRun"] is False
    assert effective["triggers"]["rowCountDrop"] == {"share": 0.5, "level": "warning"}
    assert [r["type"] for r in effective["recipients"]] == ["slack", "webhook", "email"]


def test_deleting_a_sync_override_restores_its_destination_s_policy(
    api: Api, pipeline: Pipeline
) -> None:
    api.ok("PUT", f"/destinations/{pipeline.destination}/alerts", json=DESTINATION_POLICY)
    api.ok("PUT", f"/syncs/{pipeline.sync}/alerts", json={"triggers": {"slowRun": False}})

    removed = api.ok("DELETE", f"/syncs/{pipeline.sync}/alerts")
    read = api.ok("GET", f"/syncs/{pipeline.sync}/alerts")

    assert removed["triggers"]["slowRun"] is False, "what was removed: the trigger off"
    assert read["triggers"]["slowRun"] is None
    assert read["effective"]["triggers"]["slowRun"] == {"after": 1800.0, "level": "critical"}


def test_a_trigger_turned_off_reads_false_and_round_trips(api: Api, pipeline: Pipeline) -> None:
    path = f"/syncs/{pipeline.sync}/alerts"
    api.ok("PUT", f"/destinations/{pipeline.destination}/alerts", json=DESTINATION_POLICY)

    written = api.ok("PUT", path, json={"triggers": {"slowRun": False}})
    read = api.ok("GET", path)
    assert written["triggers"]["slowRun"] is False
    assert read["triggers"]["slowRun"] is False, "off, not inherited"
    assert read["triggers"]["rowCountDrop"] is None, "left out: inherited"
    assert read["effective"]["triggers"]["slowRun"] is False

    again = api.ok("PUT", path, json={k: read[k] for k in ("triggers", "recipients")})
    assert again["triggers"] == read["triggers"]
    assert api.ok("GET", path)["effective"] == read["effective"]

    api.ok("DELETE", path)
    assert api.ok("GET", path)["triggers"]["slowRun"] is None


def test_a_sync_policy_read_back_with_effective_can_be_put_back_as_it_is(
    api: Api, pipeline: Pipeline
) -> None:
    path = f"/syncs/{pipeline.sync}/alerts"
    api.ok("PUT", f"/destinations/{pipeline.destination}/alerts", json=DESTINATION_POLICY)
    own = {
        "triggers": {"slowRun": False, "rejectedRows": {"count": 3}},
        "recipients": [{"type": "email", "host": "127.0.0.1", "port": 2525,
                        "from": "syncline@example.org", "to": ["oncall@example.org"]}],
    }  # fmt: skip
    api.ok("PUT", path, json=own)
    read = api.ok("GET", path)
    assert "effective" in read

    again = api.ok("PUT", path, json=read)

    assert again == {k: read[k] for k in ("triggers", "recipients")}
    assert api.ok("GET", path) == read, "effective was ignored, not stored"


def test_effective_is_ignored_on_a_sync_and_refused_elsewhere(api: Api, pipeline: Pipeline) -> None:
    sync_path = f"/syncs/{pipeline.sync}/alerts"
    body = {"triggers": {"slowRun": {"after": "1h"}}, "effective": {"triggers": "anything"}}

    written = api.ok("PUT", sync_path, json=body)
    assert written["triggers"]["slowRun"] == {"after": 3600.0, "level": "warning"}
    assert (
        api.ok("GET", sync_path)["effective"]["triggers"]["slowRun"]
        == written["triggers"]["slowRun"]
    )

    answer = api.call("PUT", f"/destinations/{pipeline.destination}/alerts", json=body)
    assert answer.status_code == 422, answer.text
    assert "body.effective" in answer.json()["details"]


def test_the_openapi_document_declares_effective_read_only_on_a_sync_s_put(api: Api) -> None:
    document = api.client.get(f"{BASE}/openapi.json").json()

    def body_schema(path: str) -> dict[str, Any]:
        content = document["paths"][BASE + path]["put"]["requestBody"]["content"]
        return dict(content["application/json"]["schema"])

    sync_body = body_schema("/syncs/{syncId}/alerts")
    destination_body = body_schema("/destinations/{destinationId}/alerts")
    assert sync_body["additionalProperties"] is False
    assert sync_body["properties"]["effective"]["readOnly"] is True
    assert "ignored" in sync_body["properties"]["effective"]["description"]
    assert "effective" not in destination_body["properties"]


@pytest.mark.parametrize(
    "recipient",
    [
        {"type": "webhook", "url": "http://169\u3002254\u3002169\u3002254/latest"},
        {"type": "slack", "url": "http://169\uff0e254\uff0e169\uff0e254/x"},
        {"type": "webhook", "url": "http://169\uff61254\uff61169\uff61254/x"},
        {"type": "webhook", "url": "http://metadata\u3002google\u3002internal/"},
        {"type": "email", "host": "169\u3002254\u3002169\u3002254", "from": "a@b.c",
         "to": "x@y.z"},
        {"type": "webhook", "url": "http://metadata/computeMetadata/v1/"},
        {"type": "webhook", "url": "http://100.100.100.200/latest/meta-data/"},
    ],
)  # fmt: skip
def test_metadata_hosts_in_any_spelling_are_a_422(
    api: Api, pipeline: Pipeline, recipient: dict[str, Any]
) -> None:
    path = f"/destinations/{pipeline.destination}/alerts"

    answer = api.call("PUT", path, json={"recipients": [recipient]})

    assert answer.status_code == 422, answer.text
    field = "host" if "host" in recipient else "url"
    assert "metadata service" in answer.json()["details"][f"body.recipients.0.{field}"]["message"]
    assert api.ok("GET", path)["recipients"] is None


def test_deleting_a_destination_policy_leaves_the_defaults(api: Api, pipeline: Pipeline) -> None:
    path = f"/destinations/{pipeline.destination}/alerts"
    api.ok("PUT", path, json=DESTINATION_POLICY)

    removed = api.ok("DELETE", path)

    assert removed["triggers"]["slowRun"] == {"after": 1800.0, "level": "critical"}
    assert api.ok("GET", path)["recipients"] is None
    assert api.ok("DELETE", path)["recipients"] is None  # nothing left to remove


def test_every_problem_of_a_policy_is_a_422_naming_where_it_is(
    api: Api, pipeline: Pipeline
) -> None:
    body = {
        "triggers": {"rejectedRows": False, "slowRun": {"after": "soon"}},
        "recipients": [{"type": "sms", "to": "+100"}, {"type": "slack", "url": "ftp://x"}],
        "escalate": True,
    }

    answer = api.call("PUT", f"/syncs/{pipeline.sync}/alerts", json=body)

    assert answer.status_code == 422, answer.text
    details = answer.json()["details"]
    assert "always watched" in details["body.triggers.rejectedRows"]["message"]
    assert "is not a duration" in details["body.triggers.slowRun.after"]["message"]
    assert "webhook, slack or email" in details["body.recipients.0"]["message"]
    assert "http://" in details["body.recipients.1.url"]["message"]
    assert "body.escalate" in details
    assert api.ok("GET", f"/syncs/{pipeline.sync}/alerts")["triggers"]["slowRun"] is None


def test_a_422_echoes_refused_values_but_never_a_recipient_s_secret(
    api: Api, pipeline: Pipeline
) -> None:
    body = {
        "triggers": {"rowCountDrop": {"share": 5}, "slowRun": {"after": "soon"}},
        "recipients": [
            {"type": "slack", "url": "http://169.254.169.254/T0/secret-path"},
            {"type": "email", "host": "metadata.google.internal", "port": 0,
             "from": "a@b.c", "to": "x@y.z"},
        ],
    }  # fmt: skip

    answer = api.call("PUT", f"/syncs/{pipeline.sync}/alerts", json=body)

    assert answer.status_code == 422, answer.text
    details = answer.json()["details"]
    assert details["body.triggers.rowCountDrop.share"]["value"] == 5
    assert details["body.triggers.slowRun.after"]["value"] == "soon"
    assert details["body.recipients.1.port"]["value"] == 0
    assert details["body.recipients.1.host"]["value"] == "metadata.google.internal"
    assert "metadata service" in details["body.recipients.1.host"]["message"]
    assert "link-local" in details["body.recipients.0.url"]["message"]
    assert details["body.recipients.0.url"]["value"] is None
    assert "secret-path" not in answer.text


def test_the_allowed_hosts_setting_holds_for_api_policies(api: Api, pipeline: Pipeline) -> None:
    app = api.client.app
    app.state.settings = replace(app.state.settings, alert_allowed_hosts=("hooks.example.org",))
    path = f"/destinations/{pipeline.destination}/alerts"

    refused = api.call("PUT", path, json=DESTINATION_POLICY)
    allowed = {"recipients": [{"type": "slack", "url": SLACK_URL}]}

    assert refused.status_code == 422
    assert set(refused.json()["details"]) == {"body.recipients.1.url", "body.recipients.2.host"}
    assert api.ok("PUT", path, json=allowed)["recipients"] == [
        {"type": "slack", "level": "warning"}
    ]


def test_a_body_that_is_not_an_object_is_a_422(api: Api, pipeline: Pipeline) -> None:
    answer = api.call("PUT", f"/destinations/{pipeline.destination}/alerts", json=[1])

    assert answer.status_code == 422
    assert answer.json()["message"] == "Validation failed"


def _alert_endpoints(made: Pipeline) -> list[tuple[str, str]]:
    return [
        (method, f"/{kind}/{ident}/alerts")
        for kind, ident in (("destinations", made.destination), ("syncs", made.sync))
        for method in ("GET", "PUT", "DELETE")
    ]


def test_alert_policies_need_a_key(api: Api, pipeline: Pipeline) -> None:
    for method, path in _alert_endpoints(pipeline):
        answer = api.client.request(method, "/api/v1" + path, json={})
        assert answer.status_code == 401, (method, path)


def test_another_workspace_s_policies_are_404_and_stay_unchanged(api: Api, tmp_path: Path) -> None:
    theirs = make_pipeline(api, tmp_path, key=api.other_key)
    owner = api.other_key
    api.ok("PUT", f"/destinations/{theirs.destination}/alerts", json=DESTINATION_POLICY, key=owner)

    for method, path in _alert_endpoints(theirs):
        answer = api.call(method, path, json={"triggers": {"slowRun": False}})
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["message"] == "Not found"

    kept = api.ok("GET", f"/destinations/{theirs.destination}/alerts", key=owner)
    assert kept["triggers"]["slowRun"] == {"after": 1800.0, "level": "critical"}


def test_an_id_that_is_no_id_is_a_422_naming_it(api: Api) -> None:
    for path, where in (("/destinations/0/alerts", "path.destinationId"),
                        ("/syncs/abc/alerts", "path.syncId")):  # fmt: skip
        answer = api.call("PUT", path, json={})
        assert answer.status_code == 422, (path, answer.text)
        assert where in answer.json()["details"]


def test_an_address_that_would_add_a_header_is_a_422(api: Api, pipeline: Pipeline) -> None:
    recipient = {"type": "email", "host": "127.0.0.1", "from": "syncline@example.org",
                 "to": ["evil@example.org\r\nBcc: z@example.org"]}  # fmt: skip

    answer = api.call("PUT", f"/syncs/{pipeline.sync}/alerts", json={"recipients": [recipient]})

    assert answer.status_code == 422, answer.text
    assert "line breaks" in answer.json()["details"]["body.recipients.0.to"]["message"]
    assert api.ok("GET", f"/syncs/{pipeline.sync}/alerts")["recipients"] is None
