"""`syncline serve` says where it listens, whatever the log level."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

SYNCLINE = Path(sys.executable).parent / "syncline"


def test_serve_on_a_port_the_system_picks_prints_the_address_it_listens_on(
    workdir: Path,
) -> None:
    log = workdir / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(SYNCLINE), "serve", "--port", "0", "--no-worker"],
            env=os.environ.copy(),  # SYNCLINE_LOG_LEVEL=WARNING, from the fixture
            stdout=out,
            stderr=out,
        )
    try:
        deadline = time.monotonic() + 60
        found = None
        while found is None and time.monotonic() < deadline and process.poll() is None:
            found = re.search(r"API on (http://127\.0\.0\.1:\d+/api/v1)", log.read_text())
            time.sleep(0.1)
        assert found is not None, log.read_text()

        # The address printed is the one that answers.
        with urllib.request.urlopen(found.group(1) + "/sources", timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)

    assert status in (200, 401)


def test_the_address_accepts_connections_before_the_server_has_started() -> None:
    import socket

    from syncline.cli.serving import listen

    sock = listen("127.0.0.1", 0)
    try:
        # A client that connects the moment the address is printed waits in the backlog.
        with socket.create_connection(sock.getsockname()[:2], timeout=5):
            pass
    finally:
        sock.close()
