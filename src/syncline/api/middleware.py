"""The guard every request body passes before a route or a page may read it.

When something first reads the body, the route is known, and the guard, in order:

1. authenticates the request if its operation needs a key, so a caller without a
   valid key gets its 401 (or a workspace over its limit its 429) before a byte of the
   body is read, and costs the server no more than the key's lookup;
2. reads the body up to ``SYNCLINE_REQUEST_BODY_LIMIT`` bytes, answering 413 as soon
   as the declared length or the bytes received pass it, without reading the rest;
3. refuses with a 422 a JSON body (or one without a content type, which routes read
   as JSON) that cannot be parsed (naming where it breaks), nested deeper than
   :data:`MAX_DEPTH`, or holding ``NaN``, ``Infinity`` or ``1e400``;
4. refuses with a 422 a body of another content type sent to an operation that reads
   JSON (``curl -d`` sends a form), saying which header to send.

Depth, because every layer after the parser (validation, error bodies, storage)
walks a value by recursion, and Python's recursion is bounded. The numbers, because
Python's JSON parser accepts those words although JSON has no such numbers: a
configuration holding one could be stored but never sent back (nor could an error
naming it).

A body nobody reads passes unchecked and costs nothing: the server reads no more of
it than its buffers hold. A request refused here is answered with
``Connection: close``, since the rest of its body may still be on the connection.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from fastapi import params
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from syncline.api import auth
from syncline.api.errors import (
    AuthenticationError,
    RateLimited,
    RequestRefused,
    authentication_failed,
    content_too_large,
    not_json,
    not_json_media,
    too_many_requests,
    validation_failed,
)

logger = logging.getLogger(__name__)

MAX_DEPTH = 64
"""Arrays and objects a JSON body may nest; no configuration comes near it."""

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
"""Methods whose bodies routes read; others pass unchecked, as no route reads theirs."""


class GuardRequestBody:
    """ASGI middleware: authenticate, bound and check a request body when it is first read."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return

        guard = _Guard(self.limit, scope, receive, send)
        try:
            await self.app(scope, guard.receive, guard.send)
        except RequestRefused as refused:
            # Raised where no exception handler saw it, e.g. in another middleware.
            if guard.started:
                raise
            await refused.response(scope, receive, guard.send)


def _needs_key(scope: Scope) -> bool:
    """Whether the operation ``scope`` was routed to authenticates its caller."""
    route = scope.get("route")
    return isinstance(route, APIRoute) and _depends_on(route.dependant, auth.authenticate)


def _depends_on(dependant: Any, call: Any) -> bool:
    return any(sub.call is call or _depends_on(sub, call) for sub in dependant.dependencies)


class _Guard:
    """One request's passage: the checks run at its first read, then the body is replayed."""

    def __init__(self, limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        self.limit = limit
        self.scope = scope
        self._receive = receive
        self._send = send
        self.started = False
        self.refused = False
        self._checked = False
        self._replay: list[Message] = []

    async def receive(self) -> Message:
        if not self._checked:
            self._checked = True
            # A response already under way reads only to learn of a disconnect.
            if not self.started:
                try:
                    self._replay = await self._admit()
                except RequestRefused:
                    self.refused = True
                    raise
                except Exception as exc:
                    # Raised from here, anything else would reach the client as an
                    # unreadable body (FastAPI's 400); it is the server's fault.
                    logger.error("the request body guard failed", exc_info=exc)
                    self.refused = True
                    raise RequestRefused(JSONResponse("Internal Server Error", 500)) from exc
        if self._replay:
            return self._replay.pop(0)
        return await self._receive()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            if self.refused:
                headers = [*message.get("headers", []), (b"connection", b"close")]
                message = {**message, "headers": headers}
        await self._send(message)

    async def _admit(self) -> list[Message]:
        if _needs_key(self.scope):
            await self._authenticate()

        limit = self.limit
        declared = _content_length(self.scope)
        if declared is not None and declared > limit:
            raise RequestRefused(content_too_large(limit))

        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self._receive()
            if message["type"] != "http.request":
                return [message]  # the client left; the reader learns it from this
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise RequestRefused(content_too_large(limit))
            chunks.append(chunk)
            if not message.get("more_body", False):
                break

        body = b"".join(chunks)
        if body.strip():
            _check_body(self.scope, body)
        return [{"type": "http.request", "body": body, "more_body": False}]

    async def _authenticate(self) -> None:
        # The key's lookup is a database query: off the event loop, as FastAPI runs
        # the dependency it stands in for.
        try:
            await run_in_threadpool(auth.workspace_of, Request(self.scope))
        except AuthenticationError as exc:
            raise RequestRefused(authentication_failed(exc)) from exc
        except RateLimited as exc:
            raise RequestRefused(too_many_requests(exc)) from exc


def _content_length(scope: Scope) -> int | None:
    try:
        return int(Headers(scope=scope)["content-length"])
    except (KeyError, ValueError):
        return None  # chunked, or not a number: the bytes are counted as they come


def _check_body(scope: Scope, body: bytes) -> None:
    media = Headers(scope=scope).get("content-type", "").split(";")[0].strip().lower()
    # No content type counts as JSON: FastAPI and the trigger routes read it so.
    if not media or "json" in media:
        _check_json(body)
    elif _reads_json_only(scope):
        _refuse_body(not_json_media(media), value=media)


def _reads_json_only(scope: Scope) -> bool:
    """Whether the operation takes its body as JSON (not a form, nor by reading it itself)."""
    route = scope.get("route")
    if not isinstance(route, APIRoute) or route.body_field is None:
        return False
    return not isinstance(route.body_field.field_info, params.Form)


class _NonFinite(ValueError):
    def __init__(self, word: str) -> None:
        super().__init__(word)
        self.word = word


def _refuse(word: str) -> Any:
    raise _NonFinite(word)


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _NonFinite(text)  # e.g. 1e400, beyond what a float holds
    return value


def _check_json(body: bytes) -> None:
    """Raise RequestRefused (422) for a body too deep or holding a number no float holds."""
    try:
        value = json.loads(body, parse_constant=_refuse, parse_float=_finite)
    except _NonFinite as exc:
        _refuse_body(f"{exc.word} is not a number Syncline can store")
    except RecursionError:
        # The parser gives up far deeper than MAX_DEPTH: the same answer, earlier.
        _refuse_body(_TOO_DEEP)
    except ValueError as exc:
        _refuse_body(not_json(exc))
    if _deeper_than(value, MAX_DEPTH):
        _refuse_body(_TOO_DEEP)


_TOO_DEEP = f"the body nests arrays and objects more than {MAX_DEPTH} levels deep"


def _refuse_body(message: str, value: Any = None) -> None:
    raise RequestRefused(validation_failed(422, {"body": {"message": message, "value": value}}))


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels in ``value`` (no recursion)."""
    pending = [(value, 1)] if isinstance(value, dict | list) else []
    while pending:
        item, level = pending.pop()
        if level > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        pending += [(child, level + 1) for child in children if isinstance(child, dict | list)]
    return False
