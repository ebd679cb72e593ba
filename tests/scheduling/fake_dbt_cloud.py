"""A dbt Cloud API v2 stand-in on 127.0.0.1: the runs list of one account, in its shapes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

TOKEN = "dbt-test-token"


@dataclass
class FakeDbtCloud:
    """What the fake serves, and what it was asked; tests change it between polls."""

    account_id: str = "7"
    runs: list[dict[str, Any]] = field(default_factory=list)
    """Every run of the account: ``{"id", "job_definition_id", "status"}``."""
    fail_with: int | None = None
    """Answer every request with this status (401, 429, 500) instead of runs."""
    retry_after: str | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def add_run(self, job_id: int, status: int) -> int:
        """Add a run of ``job_id`` with the next id; returns the id."""
        run_id = max((run["id"] for run in self.runs), default=1000) + 1
        self.runs.append({"id": run_id, "job_definition_id": job_id, "status": status})
        return run_id

    def answer(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> Any:
        """(status, headers, body) of a GET."""
        self.requests.append({"path": path, "query": query, "headers": headers})
        if headers.get("authorization") != f"Token {TOKEN}":
            return 401, {}, {"status": {"code": 401, "is_success": False}, "data": None}
        if self.fail_with is not None:
            extra = {"Retry-After": self.retry_after} if self.retry_after else {}
            return self.fail_with, extra, {"status": {"code": self.fail_with}, "data": None}
        if path != f"/api/v2/accounts/{self.account_id}/runs/":
            return 404, {}, {"status": {"code": 404, "is_success": False}, "data": None}

        job = query.get("job_definition_id", [None])[0]
        chosen = [r for r in self.runs if job is None or str(r["job_definition_id"]) == job]
        if query.get("order_by", [""])[0] == "-id":
            chosen.sort(key=lambda run: -run["id"])
        offset = int(query.get("offset", ["0"])[0])
        limit = min(int(query.get("limit", ["100"])[0]), 100)
        page = chosen[offset : offset + limit]
        body = {
            "status": {"code": 200, "is_success": True, "user_message": "Success!"},
            "data": [
                {**run, "account_id": int(self.account_id), "is_complete": run["status"] >= 10}
                for run in page
            ],
            "extra": {
                "filters": {"account_id": int(self.account_id), "job_definition_id": job},
                "order_by": query.get("order_by", ["id"])[0],
                "pagination": {"count": len(page), "total_count": len(chosen)},
            },
        }
        return 200, {}, body


@contextmanager
def serve_fake_dbt_cloud() -> Iterator[FakeDbtCloud]:
    """Run a :class:`FakeDbtCloud` on a free loopback port until the block ends."""
    fake = FakeDbtCloud()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            url = urlparse(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, body = fake.answer(url.path, parse_qs(url.query), headers)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
            """Keep test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
