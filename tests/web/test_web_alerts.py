"""The alert policy pages: the form shows the stored policy as it is, and saving it
untouched stores exactly that policy again, for a destination and for a sync."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest
from web_fixtures import ADMIN, Browser, signed_in, submitted, sync_made_in_forms

from syncline.alerts.policy import AlertPolicy
from syncline.alerts.store import read_policy, write_policy
from syncline.catalog import Catalog

WEBHOOK = {"type": "webhook", "url": "http://127.0.0.1:9/hooks/secret-path", "level": "warning"}
EMAIL = {"type": "email", "host": "127.0.0.1", "port": 2525, "from": "syncline@example.org",
         "to": ["oncall@example.org"], "level": "critical"}  # fmt: skip

SHAPES: dict[str, dict[str, Any] | None] = {
    "no policy": None,
    "empty": {"triggers": {}},
    "slow run and row count drop off": {"triggers": {"slowRun": False, "rowCountDrop": False}},
    "every trigger its own": {
        "triggers": {
            "rejectedRows": {"count": 10, "level": "critical"},
            "slowRun": {"after": "30m"},
            "rowCountDrop": {"share": 0.25, "level": "critical"},
        },
        "recipients": [WEBHOOK, EMAIL],
    },
    "a share and nobody": {
        "triggers": {"rejectedRows": {"share": 0.123456789}, "slowRun": {"after": 95.5}},
        "recipients": [],
    },
    "any rejected row, stated": {"triggers": {"rejectedRows": None}},
    "recipients only": {"recipients": [EMAIL]},
}
"""Policies as a project, the API or the form may have stored them."""


@pytest.fixture
def admin_with_sync(client: Any, tmp_path: Path) -> Browser:
    """The admin, signed in, with destination 1 and sync 1 made through the forms."""
    admin = signed_in(client, ADMIN)
    sync_made_in_forms(admin, tmp_path)
    return admin


def _store(catalog: Catalog, where: dict[str, int], declared: dict[str, Any] | None) -> None:
    stored = None if declared is None else AlertPolicy.parse(declared).dump()
    with catalog.session() as session:
        write_policy(session.orm, catalog.secrets, session.workspace_id, stored, **where)


def _stored(catalog: Catalog, where: dict[str, int]) -> dict[str, Any] | None:
    with catalog.session(read_only=True) as session:
        return read_policy(session.orm, catalog.secrets, **where)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scope", ["destinations", "syncs"])
def test_saving_the_alert_form_untouched_stores_the_same_policy(
    admin_with_sync: Browser, web_catalog: Catalog, scope: str, shape: str
) -> None:
    where = {"destination_id": 1} if scope == "destinations" else {"sync_id": 1}
    other = {"sync_id": 1} if scope == "destinations" else {"destination_id": 1}
    _store(catalog=web_catalog, where=other, declared=SHAPES["every trigger its own"])
    _store(web_catalog, where, SHAPES[shape])
    before = _stored(web_catalog, where)

    path = f"/alerts/{scope}/1"
    saved = admin_with_sync.post(path, submitted(admin_with_sync.get(path).text, path))

    assert saved.status_code == 303, saved.text
    assert _stored(web_catalog, where) == before


def test_a_sync_without_a_policy_shows_everything_following_its_destination(
    admin_with_sync: Browser, web_catalog: Catalog
) -> None:
    _store(web_catalog, {"destination_id": 1}, SHAPES["every trigger its own"])

    shown = submitted(admin_with_sync.get("/alerts/syncs/1").text, "/alerts/syncs/1")

    assert shown["recipients_mode"] == ["follow"]
    assert [shown[f"{p}_mode"] for p in ("rejected", "slow", "drop")] == [["follow"]] * 3


def test_a_sync_shows_the_triggers_it_turns_off_and_its_own_values(
    admin_with_sync: Browser, web_catalog: Catalog
) -> None:
    own = {"triggers": {"slowRun": False, "rejectedRows": {"share": 0.05, "level": "critical"}},
           "recipients": []}  # fmt: skip
    _store(web_catalog, {"sync_id": 1}, own)

    shown = submitted(admin_with_sync.get("/alerts/syncs/1").text, "/alerts/syncs/1")

    assert shown["slow_mode"] == ["off"]
    assert shown["drop_mode"] == ["follow"]
    assert (shown["rejected_mode"], shown["rejected_share"]) == (["own"], ["5"])
    assert shown["rejected_level"] == ["critical"]
    assert shown["recipients_mode"] == ["own"]


def test_a_sync_turns_a_trigger_off_and_back_to_its_destination_s(
    admin_with_sync: Browser, web_catalog: Catalog
) -> None:
    path = "/alerts/syncs/1"
    form = submitted(admin_with_sync.get(path).text, path)

    assert admin_with_sync.post(path, {**form, "drop_mode": ["off"]}).status_code == 303
    assert _stored(web_catalog, {"sync_id": 1}) == {"triggers": {"rowCountDrop": None}}

    form = submitted(admin_with_sync.get(path).text, path)
    assert admin_with_sync.post(path, {**form, "drop_mode": ["follow"]}).status_code == 303
    assert _stored(web_catalog, {"sync_id": 1}) == {"triggers": {}}


def _field_errors(page: str) -> dict[str, str]:
    found = re.findall(r'<p class="field-error" id="([\w-]+)-error">([^<]+)</p>', page)
    return {field: html.unescape(message) for field, message in found}


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"new_type": "email", "new_from": "syncline@example.org", "new_host": "127.0.0.1"},
         "new_to", "The new e-mail recipient: give at least one address to send alerts to"),
        ({"new_type": "email", "new_to": "oncall@example.org", "new_host": "127.0.0.1"},
         "new_from", "The new e-mail recipient: give the address alerts are sent from"),
        ({"new_type": "email", "new_to": "oncall@example.org", "new_from": "a@example.org"},
         "new_host", "The new e-mail recipient: give the SMTP server's host name"),
        ({"new_type": "email", "new_to": "oncall@example.org", "new_from": "a@example.org",
          "new_host": "127.0.0.1", "new_port": "smtp"},
         "new_port", "The new e-mail recipient: 'smtp' is not a port; give a whole number"),
        ({"new_type": "webhook"},
         "new_url", "The new webhook: give the URL alerts are posted to, starting with http://"),
        ({"new_url": "http://127.0.0.1:9/hook"},
         "new_type", "The new recipient: the recipient type must be webhook, slack or email"),
    ],
)  # fmt: skip
def test_a_half_filled_recipient_is_refused_beside_the_field_it_lacks(
    admin_with_sync: Browser, web_catalog: Catalog, fields: dict[str, str], field: str, says: str
) -> None:
    path = "/alerts/destinations/1"
    form = submitted(admin_with_sync.get(path).text, path)

    refused = admin_with_sync.post(path, {**form, **fields})

    assert refused.status_code == 422
    errors = _field_errors(refused.text)
    assert errors[field].startswith(says), errors
    assert "should have at least" not in refused.text
    assert _stored(web_catalog, {"destination_id": 1}) is None


def test_a_recipient_added_to_a_sync_that_follows_its_destination_is_refused(
    admin_with_sync: Browser, web_catalog: Catalog
) -> None:
    path = "/alerts/syncs/1"
    form = submitted(admin_with_sync.get(path).text, path)
    hook = {"new_type": "webhook", "new_url": "http://127.0.0.1:9/hook"}

    refused = admin_with_sync.post(path, {**form, **hook})

    assert refused.status_code == 422
    assert "choose" in _field_errors(refused.text)["recipients_mode"]
    assert _stored(web_catalog, {"sync_id": 1}) is None
    added = admin_with_sync.post(path, {**form, **hook, "recipients_mode": ["own"]})
    assert added.status_code == 303
    assert [r["url"] for r in (_stored(web_catalog, {"sync_id": 1}) or {})["recipients"]] == [
        hook["new_url"]
    ]
