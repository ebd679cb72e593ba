"""The official ``hightouch`` SDK in a virtual environment of its own, and a live server.

The SDK pins old versions of ``requests``, ``urllib3`` and more, so it never shares
Syncline's environment: it is installed once into a cache folder outside the
repository (keyed by the SDK version, reused by later sessions) and driven through
``sdk_client.py`` in a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

SDK_VERSION = "1.31.0"
"""The official SDK release the proof runs against (the newest on PyPI)."""

CLIENT = Path(__file__).with_name("sdk_client.py")
SYNCLINE = Path(sys.executable).with_name("syncline")
"""The console script installed beside this interpreter."""


def cache_root() -> Path:
    """Where test tooling is cached across sessions: ``$XDG_CACHE_HOME`` or ``~/.cache``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "syncline-tests"


class SdkUnavailable(Exception):
    """The SDK could not be installed (no network or no package index)."""


def sdk_python(version: str = SDK_VERSION) -> Path:
    """The interpreter of a virtual environment holding ``hightouch==version``.

    A finished environment is reused. A new one is built beside it under a temporary
    name and renamed into place only once the SDK imports, so an interrupted install
    is never mistaken for a finished one, and two test workers building at the same
    time both end with a working environment.

    Raises:
        SdkUnavailable: pip could not install the SDK; the message holds pip's reason.
    """
    target = cache_root() / f"hightouch-sdk-{version}"
    python = target / "bin" / "python"
    if _imports_sdk(python, version):
        return python

    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.with_name(f"{target.name}.building-{uuid.uuid4().hex[:8]}")
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", str(building)], check=True, capture_output=True
        )
        install = subprocess.run(
            [str(building / "bin" / "python"), "-m", "pip", "install", "--quiet",
             "--disable-pip-version-check", f"hightouch=={version}"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if install.returncode != 0:
            reason = (install.stderr.strip().splitlines() or ["no output"])[-1]
            raise SdkUnavailable(f"pip could not install hightouch=={version}: {reason}")
        try:
            building.rename(target)
        except OSError:
            # Another worker finished first; its environment is as good as ours.
            pass
    finally:
        shutil.rmtree(building, ignore_errors=True)

    if not _imports_sdk(python, version):
        raise SdkUnavailable(f"hightouch=={version} installed into {target} but does not import")
    return python


def _imports_sdk(python: Path, version: str) -> bool:
    if not python.exists():
        return False
    check = subprocess.run(
        [str(python), "-c", "import hightouch.sdk as s; print(s.Hightouch._sdk_version)"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return check.returncode == 0 and check.stdout.strip() == version


@dataclass(frozen=True)
class SdkClient:
    """Runs calls through the official SDK against one server with one key."""

    python: Path
    server: str
    key: str

    def call(self, op: str, **arguments: Any) -> dict[str, Any]:
        """One SDK call; returns ``{"status", "parsed", "warnings"}``."""
        return self.calls([{"op": op, **arguments}])[0]

    def calls(self, calls: list[dict[str, Any]], *, timeout: float = 120) -> list[dict[str, Any]]:
        """Several SDK calls in one subprocess, in order."""
        request = {"server": self.server, "key": self.key, "calls": calls}
        done = subprocess.run(
            [str(self.python), str(CLIENT)],
            input=json.dumps(request), capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        if done.returncode != 0:
            raise AssertionError(f"the SDK client failed:\n{done.stderr}")
        answers: list[dict[str, Any]] = json.loads(done.stdout)
        return answers


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def syncline_env(home: Path) -> dict[str, str]:
    """This process's environment with its own ``SYNCLINE_HOME`` and no other settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCLINE_")}
    env["SYNCLINE_HOME"] = str(home)
    env["SYNCLINE_LOG_LEVEL"] = "INFO"
    return env


def syncline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``syncline ARGS`` to its end."""
    return subprocess.run(
        [str(SYNCLINE), *args], env=env, capture_output=True, text=True, timeout=60
    )


@dataclass
class LiveServer:
    """A ``syncline serve`` process on loopback, with a key of its default workspace."""

    process: subprocess.Popen[bytes]
    base_url: str
    """The API root, e.g. ``http://127.0.0.1:8123/api/v1``."""
    key: str
    home: Path
    log: Path

    def http(self) -> httpx.Client:
        """A plain HTTP client with the key, for calls the SDK does not have."""
        return httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {self.key}"}, timeout=30
        )

    def output(self) -> str:
        """What the server printed so far."""
        return self.log.read_text(errors="replace")


@contextmanager
def live_server(home: Path, *extra: str) -> Iterator[LiveServer]:
    """Start ``syncline serve`` on a free loopback port and stop it with SIGINT at the end.

    Raises:
        AssertionError: the key could not be made or the server never became healthy;
            the message holds the server's output.
    """
    env = syncline_env(home)
    made = syncline(env, "keys", "create", "--name", "sdk-proof")
    assert made.returncode == 0, f"syncline keys create failed: {made.stderr}"
    key = made.stdout.strip().splitlines()[-1].strip()

    port = free_port()
    log = home / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(SYNCLINE), "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
            env=env, stdout=out, stderr=out,
        )  # fmt: skip
    server = LiveServer(process, f"http://127.0.0.1:{port}/api/v1", key, home, log)
    try:
        _wait_healthy(server)
        yield server
    finally:
        stop(server)


def stop(server: LiveServer, *, timeout: float = 20) -> int:
    """Ask the server to shut down as Ctrl-C does; kill it if it does not; its exit code."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGINT)
        try:
            server.process.wait(timeout)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    return server.process.returncode


def _wait_healthy(server: LiveServer, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"syncline serve exited early:\n{server.output()}")
        try:
            if httpx.get(f"{server.base_url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"syncline serve was not healthy after {timeout}s:\n{server.output()}")
