"""A webhook URL's credentials are secrets: a password before the host is refused, and the
query string's values are encrypted at rest and masked in every answer."""

from __future__ import annotations

import json
from typing import Any

from api_fixtures import Api, webhook

from syncline.catalog import DestinationRecord

TOKEN_URL = "http://127.0.0.1:9/rows?token=QTOKEN-SECRET&region=eu"
SHOWN_URL = "http://127.0.0.1:9/rows?token=***&region=***"


def _stored(api: Api, ident: int) -> dict[str, Any]:
    with api.catalog.session() as session:
        record = session.destinations.get(ident)
        assert isinstance(record, DestinationRecord)
        return {
            "raw": dict(record.configuration),
            "plain": session.destinations.plain_configuration(record),
        }


def test_a_password_in_the_url_is_a_422_asking_for_a_header(api: Api) -> None:
    url = "http://usr:URLPASS-SECRET@127.0.0.1:9/rows"

    answer = api.post("/destinations", json=webhook(url=url))

    assert answer.status_code == 422
    assert "URLPASS-SECRET" not in answer.text
    detail = answer.json()["details"]["body.configuration.url"]
    assert "header" in detail["message"]
    assert api.ok("GET", "/destinations")["data"] == []


def test_query_values_are_masked_in_every_answer(api: Api) -> None:
    made = api.ok("POST", "/destinations", json=webhook(url=TOKEN_URL))

    assert made["configuration"]["url"] == SHOWN_URL
    assert api.ok("GET", f"/destinations/{made['id']}")["configuration"]["url"] == SHOWN_URL
    listed = api.ok("GET", "/destinations")
    assert "QTOKEN-SECRET" not in json.dumps(listed)


def test_query_values_are_encrypted_at_rest_and_reach_the_connector(api: Api) -> None:
    made = api.ok("POST", "/destinations", json=webhook(url=TOKEN_URL))

    stored = _stored(api, made["id"])

    assert "QTOKEN-SECRET" not in json.dumps(stored["raw"])
    assert stored["plain"]["url"] == TOKEN_URL


def test_a_patch_sending_back_the_masked_url_keeps_the_stored_one(api: Api) -> None:
    made = api.ok("POST", "/destinations", json=webhook(url=TOKEN_URL))
    change = {"configuration": {"url": SHOWN_URL, "batch_size": 7}}

    answer = api.ok("PATCH", f"/destinations/{made['id']}", json=change)

    assert answer["configuration"]["url"] == SHOWN_URL
    assert answer["configuration"]["batch_size"] == 7
    assert _stored(api, made["id"])["plain"]["url"] == TOKEN_URL


def test_a_patch_with_a_new_query_stores_it(api: Api) -> None:
    made = api.ok("POST", "/destinations", json=webhook(url=TOKEN_URL))
    new_url = "http://127.0.0.1:9/rows?token=NEW-TOKEN-77"
    change = {"url": new_url, "secret": "signing-2", "headers": None}

    api.ok("PATCH", f"/destinations/{made['id']}", json={"configuration": change})

    assert _stored(api, made["id"])["plain"]["url"] == new_url


def test_a_mask_in_another_url_is_a_422_asking_for_the_value(api: Api) -> None:
    made = api.ok("POST", "/destinations", json=webhook(url=TOKEN_URL))
    moved = {"configuration": {"url": "http://127.0.0.1:9/other?token=***"}}

    answer = api.patch(f"/destinations/{made['id']}", json=moved)

    assert answer.status_code == 422
    assert "token" in answer.json()["details"]["body.configuration.url"]["message"]
    assert _stored(api, made["id"])["plain"]["url"] == TOKEN_URL


def test_a_url_without_a_query_is_shown_as_given(api: Api) -> None:
    made = api.ok("POST", "/destinations", json=webhook(url="http://127.0.0.1:9/rows"))

    assert made["configuration"]["url"] == "http://127.0.0.1:9/rows"


def test_a_url_stored_before_encryption_is_shown_masked_and_kept(api: Api) -> None:
    made = api.ok("POST", "/destinations", json=webhook(url="http://127.0.0.1:9/rows"))
    with api.catalog.session() as session:
        record = session.destinations.get(made["id"])
        record.configuration = {**record.configuration, "url": TOKEN_URL}

    shown = api.ok("GET", f"/destinations/{made['id']}")["configuration"]["url"]
    api.ok("PATCH", f"/destinations/{made['id']}", json={"configuration": {"url": shown}})

    assert shown == SHOWN_URL
    stored = _stored(api, made["id"])
    assert "QTOKEN-SECRET" not in json.dumps(stored["raw"])
    assert stored["plain"]["url"] == TOKEN_URL
