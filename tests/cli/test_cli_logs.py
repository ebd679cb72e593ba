"""What the command line's log set-up lets through: no request URL of the HTTP clients."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from syncline.cli.logs import configure_logging


@pytest.fixture
def receiver() -> Iterator[str]:
    """A local HTTP server answering 200 to every POST; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("level", ["DEBUG", "INFO"])
def test_a_request_url_with_a_credential_never_reaches_the_log(
    level: str, receiver: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    level_before, handlers_before = root.level, list(root.handlers)
    try:
        configure_logging(level, "text")
        httpx.post(f"{receiver}/hook?token=SeCrEtToKeN", json={"a": 1})
        logging.getLogger("syncline.test").info("still logged")
    finally:
        for handler in set(root.handlers) - set(handlers_before):
            root.removeHandler(handler)
        root.setLevel(level_before)

    err = capsys.readouterr().err
    assert "SeCrEtToKeN" not in err
    assert "still logged" in err
