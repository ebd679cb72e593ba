"""A webhook receiver on 127.0.0.1 for the engine suites, scripted request by request.

``answer`` gives each request's 0-based number an HTTP status, or :data:`CLOSE` (the
connection is closed without an answer) or :data:`HANG` (no answer until the client
gives up). The receiver records the ids of every request's rows, and separately the ids
of the rows it accepted, so a test can tell a row sent twice from a row accepted twice.
The ``receiver`` fixture and :func:`webhook_sync` are the set-up the suites share.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from engine_doubles import Harness, people

from syncline.connectors.destinations.webhook import WebhookDestination

CLOSE = -1
"""Close the connection without answering."""

HANG = -2
"""Answer nothing until the receiver stops; the client's timeout ends the request."""

ROWS = [(i, f"n{i}", float(i)) for i in range(1, 251)]
"""The model the suites sync: 250 people, ids 1 to 250."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up on a hanging request closes its end; that is expected.
        return None


class WebhookReceiver:
    """An HTTP server answering each request as ``answer`` says for its number."""

    def __init__(self, answer: Callable[[int], int]) -> None:
        self.answer = answer
        self.requests: list[list[int]] = []
        """The row ids of every request received, answered or not."""
        self.deliveries: list[str] = []
        """The ``X-Syncline-Delivery`` id of every request received, in order."""
        self.accepted: list[int] = []
        """The row ids of every request answered 2xx, over the receiver's life."""
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
                receiver._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        ids = [row["id"] for row in json.loads(body)["rows"]]
        with self._lock:
            number = len(self.requests)
            self.requests.append(ids)
            self.deliveries.append(handler.headers.get("X-Syncline-Delivery", ""))
        status = self.answer(number)

        if status == HANG:
            self._stopping.wait(30)
        if status in (HANG, CLOSE):
            handler.close_connection = True
            return
        if 200 <= status < 300:
            with self._lock:
                self.accepted.extend(ids)
        handler.send_response(status)
        if 300 <= status < 400:
            handler.send_header("Location", "http://127.0.0.1:1/elsewhere")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def sent(self) -> list[int]:
        """Every id sent since the last call, in order."""
        with self._lock:
            ids = [row for request in self.requests for row in request]
            self.requests.clear()
        return ids

    def close(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(name="receiver")
def accepting_receiver() -> Iterator[WebhookReceiver]:
    """A receiver accepting every request, until the test scripts it otherwise."""
    server = WebhookReceiver(lambda number: 200)
    yield server
    server.close()


def webhook_sync(tmp_path: Path, receiver: WebhookReceiver, **settings: Any) -> Harness:
    """A sync of :data:`ROWS` to ``receiver``, sent as requests of 50 rows one at a time
    (engine batches of four requests), which the webhook does not retry unless
    ``settings`` say so."""
    config = {"url": receiver.url, "batch_size": 50, "concurrency": 1, "max_retries": 0}
    hook = WebhookDestination.from_config(config | settings)
    return Harness(tmp_path, people(ROWS), destination=hook)  # type: ignore[arg-type]
