"""A real HTTP server on 127.0.0.1 that tests script request by request."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    number: int
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    """What the receiver answers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None
    """A body sent as it is, instead of ``body`` as JSON."""
    content_type: str = "application/json"


Script = Callable[[Received], Reply]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout test) closes its end; that is expected.
        return None


class Receiver:
    """Records every request, answers as the script says, counts requests in flight."""

    def __init__(self, script: Script | None = None) -> None:
        self.script: Script = script or (lambda _: Reply())
        self.requests: list[Received] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length", "0"))
        body = handler.rfile.read(length)
        with self._lock:
            received = Received(
                number=len(self.requests),
                method=handler.command,
                path=handler.path,
                headers=dict(handler.headers.items()),
                body=body,
                at=time.monotonic(),
            )
            self.requests.append(received)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

        try:
            reply = self.script(received)
            if reply.delay:
                time.sleep(reply.delay)
        finally:
            with self._lock:
                self.in_flight -= 1

        payload = b"" if reply.body is None else json.dumps(reply.body).encode()
        if reply.raw is not None:
            payload = reply.raw
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Type", reply.content_type)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
                receiver._handle(self)

            def do_PUT(self) -> None:  # noqa: N802 - the name http.server dispatches to
                receiver._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler
