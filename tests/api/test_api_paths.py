"""Paths and methods: a trailing slash serves the same resource, and a 405 names every method.

Hightouch's server routes ``/syncs/`` as ``/syncs``, so clients that add the slash get
the resource, never a redirect (one built from the request's Host header would send
the client, and its key, wherever that header says).
"""

from __future__ import annotations

from pathlib import Path

from api_fixtures import Api, make_pipeline, warehouse


def test_a_trailing_slash_serves_the_same_list_without_a_redirect(api: Api, tmp_path: Path) -> None:
    api.ok("POST", "/sources", json=warehouse(tmp_path))

    answer = api.get("/sources/", headers={"Host": "evil.example"}, follow_redirects=False)

    assert answer.status_code == 200
    assert "location" not in answer.headers
    assert answer.json() == api.ok("GET", "/sources")


def test_a_trailing_slash_reaches_a_trigger_and_a_single_resource(api: Api, tmp_path: Path) -> None:
    made = make_pipeline(api, tmp_path)

    triggered = api.post(f"/syncs/{made.sync}/trigger/", follow_redirects=False)
    one = api.get(f"/syncs/{made.sync}/", follow_redirects=False)

    assert triggered.status_code == 200, triggered.text
    assert set(triggered.json()) == {"id"}
    assert one.status_code == 200
    assert one.json()["id"] == made.sync


def test_an_unknown_path_with_a_slash_is_a_404_in_the_api_shape(api: Api) -> None:
    answer = api.get("/nothing/", follow_redirects=False)

    assert answer.status_code == 404
    assert answer.json() == {"message": "Not found", "details": "no such endpoint"}


def test_a_405_lists_every_method_of_the_path(api: Api, tmp_path: Path) -> None:
    made = make_pipeline(api, tmp_path)

    answer = api.call("PUT", f"/syncs/{made.sync}", json={})

    assert answer.status_code == 405
    assert answer.headers["allow"] == "DELETE, GET, PATCH"
    assert answer.json() == {
        "message": "Method Not Allowed",
        "details": "PUT is not an operation of this path; use DELETE, GET or PATCH",
    }
