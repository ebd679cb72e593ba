"""Request bodies: the key is checked before a body is read, and a body is bounded in size
and depth (``SYNCLINE_REQUEST_BODY_LIMIT``, ``MAX_DEPTH``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_fixtures import BASE, Api, make_api

from syncline.api.auth import RateLimiter
from syncline.api.middleware import MAX_DEPTH
from syncline.catalog import Catalog
from syncline.errors import ConfigError
from syncline.settings import DEFAULT_REQUEST_BODY_LIMIT, load_settings

JSON = {"Content-Type": "application/json"}

LIMIT = 4096
"""The body limit of the ``small`` API."""

TOO_DEEP = {
    "message": "Validation failed",
    "details": {
        "body": {
            "message": f"the body nests arrays and objects more than {MAX_DEPTH} levels deep",
            "value": None,
        }
    },
}


@pytest.fixture
def small(sqlite_catalog: Catalog, tmp_path: Path) -> Iterator[Api]:
    """The API reading bodies of at most LIMIT bytes."""
    with make_api(sqlite_catalog, tmp_path, request_body_limit=LIMIT) as made:
        yield made


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.ERROR]


# -- depth ----------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 2000, 100_000])
def test_a_body_nested_too_deep_is_a_422_not_a_traceback(
    api: Api, caplog: pytest.LogCaptureFixture, depth: int
) -> None:
    answer = api.post("/sources", content=_nested(depth), headers=JSON)

    assert answer.status_code == 422
    assert answer.json() == TOO_DEEP
    assert _errors(caplog) == []


def test_depth_is_counted_inside_fields_too(api: Api) -> None:
    body = b'{"name": "a", "slug": "a", "type": "postgres", "configuration": {"x": '
    body += _nested(2000) + b"}}"

    answer = api.post("/sources", content=body, headers=JSON)

    assert answer.status_code == 422
    assert answer.json() == TOO_DEEP


def test_a_body_without_a_content_type_is_checked_as_json(api: Api) -> None:
    # The trigger routes read such a body as JSON.
    answer = api.post("/syncs/1/trigger", content=_nested(5000))

    assert answer.status_code == 422
    assert answer.json() == TOO_DEEP


def test_a_body_nested_to_the_limit_reaches_the_route(api: Api) -> None:
    # The body's object is one level, the name the other MAX_DEPTH - 1.
    name = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    body = '{"name": ' + name + ', "slug": "a", "type": "postgres", "configuration": {}}'

    answer = api.post("/sources", content=body, headers=JSON)

    assert answer.status_code == 422
    assert list(answer.json()["details"]) == ["body.name"]


def test_deep_bodies_to_routes_without_a_key_are_4xx_not_tracebacks(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    sign_in = api.client.post("/login", content=_nested(2000), headers=JSON)
    health = api.client.post(f"{BASE}/health", content=_nested(2000), headers=JSON)

    # The sign-in page reads only forms: to it a JSON body is an empty, expired form.
    assert sign_in.status_code == 400
    assert "The form expired" in sign_in.text
    assert health.status_code == 405
    assert _errors(caplog) == []


# -- JSON that cannot be parsed, or a body that is not JSON ---------------------------------

BODY_ROUTES = [
    ("POST", "/sources"),
    ("POST", "/syncs"),
    ("POST", "/models"),
    ("POST", "/sync-sequences"),
    ("PATCH", "/syncs/1"),
    ("POST", "/syncs/trigger"),
]


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_malformed_json_is_named_with_where_it_breaks(api: Api, method: str, path: str) -> None:
    answer = api.call(method, path, content=b'{"name": "x",', headers=JSON)

    assert answer.status_code == 422
    assert list(answer.json()["details"]) == ["body"]
    message = answer.json()["details"]["body"]["message"]
    assert message.startswith("the body is not valid JSON: expecting property name")
    assert "at line 1, column 14 (character 13)" in message
    assert "correct the JSON" in message


def test_malformed_json_on_a_later_line_names_that_line(api: Api) -> None:
    answer = api.post("/sources", content=b'{\n  "name": "x"\n  "slug": "y"\n}', headers=JSON)

    assert "at line 3, column 3" in answer.json()["details"]["body"]["message"]


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain"])
@pytest.mark.parametrize(("method", "path"), BODY_ROUTES[:-1])
def test_json_sent_as_another_content_type_is_told_to_say_json(
    api: Api, method: str, path: str, content_type: str
) -> None:
    # What curl -d sends when no Content-Type is given.
    headers = {"Content-Type": content_type}
    answer = api.call(method, path, content=b'{"name": "x"}', headers=headers)

    assert answer.status_code == 422
    problem = answer.json()["details"]["body"]
    assert f"is sent as {content_type!r}" in problem["message"]
    assert "Content-Type: application/json" in problem["message"]
    assert problem["value"] == content_type


def test_a_trigger_sent_as_text_is_told_to_say_json_or_form(api: Api) -> None:
    headers = {"Content-Type": "text/plain"}
    answer = api.post("/syncs/trigger", content=b'{"syncId": "1"}', headers=headers)

    assert answer.status_code == 422
    message = answer.json()["details"]["body"]["message"]
    assert "is sent as 'text/plain'" in message
    assert "Content-Type: application/json" in message


# -- the key before the body ----------------------------------------------------------------


@pytest.mark.parametrize(
    "body", [b"{", _nested(2000), b'{"timeout": NaN}', b" " * (DEFAULT_REQUEST_BODY_LIMIT + 1)]
)
@pytest.mark.parametrize("path", ["/sources", "/syncs/1/trigger"])
def test_without_a_key_any_body_is_a_401(api: Api, body: bytes, path: str) -> None:
    # The trigger routes read their body in a dependency resolved before the key's.
    answer = api.client.post(BASE + path, content=body, headers=JSON)

    assert answer.status_code == 401
    assert answer.json() == {
        "message": "Authentication error",
        "details": "No authorization header found",
    }
    assert answer.headers["WWW-Authenticate"] == "Bearer"


def test_with_an_unknown_key_an_unreadable_body_is_a_401(api: Api) -> None:
    answer = api.post("/sources", key="sl_not-a-key", content=b"{", headers=JSON)

    assert answer.status_code == 401
    assert answer.json()["details"] == "Token is invalid"


def test_a_request_with_a_body_counts_once_against_the_rate_limit(api: Api) -> None:
    api.client.app.state.rate_limiter = RateLimiter(limit=1)  # type: ignore[attr-defined]

    first = api.post("/sources", json={})
    second = api.post("/sources", content=b"{", headers=JSON)

    assert first.status_code == 422
    assert second.status_code == 429
    assert second.json() == {"error": "rate limit exceeded"}
    assert "Retry-After" in second.headers


# -- size -----------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_a_413(small: Api) -> None:
    answer = small.post("/sources", content=b" " * (LIMIT + 1), headers=JSON)

    assert answer.status_code == 413
    body = answer.json()
    assert body["message"] == "Content too large"
    assert f"larger than {LIMIT} bytes" in body["details"]
    assert "SYNCLINE_REQUEST_BODY_LIMIT" in body["details"]
    assert answer.headers["Connection"] == "close"


def test_a_body_at_the_limit_is_read(small: Api) -> None:
    body = b'{"name": "a"}'.ljust(LIMIT)

    answer = small.post("/sources", content=body, headers=JSON)

    assert answer.status_code == 422
    assert "body.slug" in answer.json()["details"]


def test_the_default_limit_is_one_mebibyte(api: Api) -> None:
    at = api.post("/sources", content=b"{}".ljust(DEFAULT_REQUEST_BODY_LIMIT), headers=JSON)
    over = api.post("/sources", content=b"{}".ljust(DEFAULT_REQUEST_BODY_LIMIT + 1), headers=JSON)

    assert at.status_code == 422
    assert over.status_code == 413


def test_a_page_form_over_the_limit_is_a_413(small: Api) -> None:
    answer = small.client.post("/login", data={"email": "a@example.com", "password": "x" * LIMIT})

    assert answer.status_code == 413


class _Exchange:
    """One request driven straight into the app, its body sent in chunks as a server would."""

    def __init__(self, api: Api, headers: dict[str, str], chunks: list[bytes]) -> None:
        self.api = api
        self.headers = {"content-type": "application/json", **headers}
        self.chunks = chunks
        self.chunks_read = 0
        self.messages: list[dict[str, Any]] = []

    def post(self, path: str) -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": BASE + path,
            "raw_path": (BASE + path).encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(k.encode(), v.encode()) for k, v in self.headers.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        asyncio.run(self.api.client.app(scope, self._receive, self._send))
        return int(self.messages[0]["status"])

    async def _receive(self) -> dict[str, Any]:
        if self.chunks_read == len(self.chunks):
            return {"type": "http.disconnect"}
        self.chunks_read += 1
        chunk = self.chunks[self.chunks_read - 1]
        more = self.chunks_read < len(self.chunks)
        return {"type": "http.request", "body": chunk, "more_body": more}

    async def _send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)


def test_a_chunked_body_over_the_limit_is_a_413_without_reading_the_rest(small: Api) -> None:
    exchange = _Exchange(small, {"authorization": f"Bearer {small.key}"}, [b" " * 1024] * 100)

    assert exchange.post("/sources") == 413
    assert exchange.chunks_read == LIMIT // 1024 + 1


def test_a_declared_length_over_the_limit_is_a_413_without_reading_any_of_it(small: Api) -> None:
    headers = {"authorization": f"Bearer {small.key}", "content-length": str(LIMIT * 100)}
    exchange = _Exchange(small, headers, [b" " * LIMIT] * 100)

    assert exchange.post("/sources") == 413
    assert exchange.chunks_read == 0


def test_without_a_key_no_chunk_of_the_body_is_read(small: Api) -> None:
    exchange = _Exchange(small, {}, [b" " * 1024] * 100)

    assert exchange.post("/sources") == 401
    assert exchange.chunks_read == 0


# -- the setting ----------------------------------------------------------------------------


def test_the_body_limit_is_a_size_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNCLINE_REQUEST_BODY_LIMIT", raising=False)
    assert load_settings().request_body_limit == 2**20

    monkeypatch.setenv("SYNCLINE_REQUEST_BODY_LIMIT", "4MiB")
    assert load_settings().request_body_limit == 4 * 2**20

    monkeypatch.setenv("SYNCLINE_REQUEST_BODY_LIMIT", "65536")
    assert load_settings().request_body_limit == 65536


@pytest.mark.parametrize("value", ["0", "lots", "-1MB"])
def test_a_body_limit_that_is_no_size_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SYNCLINE_REQUEST_BODY_LIMIT", value)

    with pytest.raises(ConfigError, match="SYNCLINE_REQUEST_BODY_LIMIT"):
        load_settings()
