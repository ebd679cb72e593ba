"""A real server and a real browser for the end-to-end tests, both on loopback only.

The server is uvicorn in a thread serving the whole app (API, UI, worker pool and
scheduler). The browser is Debian's Chromium, headless, without background
networking, behind a proxy address that refuses everything: only loopback, which
Chromium never proxies, is reachable, and a route guard aborts any other request.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium; ``.ci/run`` installs it when missing."""

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web-screenshots"
"""Where each end-to-end test keeps a screenshot of every page it visited."""

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
    # Port 9 (discard) on loopback refuses connections: anything that is not loopback
    # and slipped past the flags above goes nowhere.
    "--proxy-server=http://127.0.0.1:9",
]


def chromium_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        return "Chromium is not installed; install Debian's chromium package (.ci/run does)"
    return None


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` on a free loopback port; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="ui-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start within 15 s")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
