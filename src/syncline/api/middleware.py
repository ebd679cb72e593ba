"""Refuse JSON bodies holding ``NaN``, ``Infinity`` or ``1e400`` before any route reads them.

Python's JSON parser accepts those words although JSON has no such numbers; a
configuration holding one could be stored but never sent back (nor could an error
naming it). This middleware answers such a request with a 422 instead, for every
route, whichever router it comes from.
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from syncline.api.errors import validation_failed

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


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


class RefuseNonFiniteJSON:
    """ASGI middleware: a JSON body with a number no float holds is a 422."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        content_type = dict(scope["headers"]).get(b"content-type", b"")
        if b"json" not in content_type.lower():
            await self.app(scope, receive, send)
            return

        messages: list[Message] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break

        try:
            json.loads(body, parse_constant=_refuse, parse_float=_finite)
        except _NonFinite as exc:
            problem = {"message": f"{exc.word} is not a number Syncline can store", "value": None}
            response = validation_failed(422, {"body": problem})
            await response(scope, receive, send)
            return
        except ValueError:
            pass  # not JSON at all: the route's own parsing reports it

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)
