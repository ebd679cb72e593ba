"""A webhook that never answers fails the run (exit 1) naming its address; no row is rejected."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from cli_harness import Invoke

from syncline.cli.exitcodes import ExitCode
from syncline.engine.delivery import RetryPolicy

HOOK = """
destinations:
  - slug: hook
    type: webhook
    configuration:
      url: http://127.0.0.1:{port}/hook
      max_retries: 1
      backoff_base: 0.01
      headers: {{Authorization: "Bearer abc", X-Team: ops}}
syncs:
  - slug: customers-to-hook
    model: active-customers
    destination: hook
    configuration:
      mode: upsert
      object: contacts
      externalIdMapping: {{from: customer_id, to: id}}
      mappings: [{{from: email, to: email}}]
"""


def test_an_unreachable_webhook_fails_the_run_naming_host_and_port(
    syncline: Invoke, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port any more; the engine's batch retries need not wait.
    monkeypatch.setattr(RetryPolicy, "delay", lambda self, attempt, retry_after: 0.0)
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    (workdir / "proj" / "hook.yml").write_text(HOOK.format(port=port))
    applied = syncline("apply", "--project", "proj")
    assert applied.code == ExitCode.OK, applied.err

    result = syncline("run", "customers-to-hook")

    assert result.code == ExitCode.RUN_FAILED, result.out
    assert "Status: failed" in result.out
    assert f"webhook 127.0.0.1:{port} did not answer" in result.err
    assert "No rejected rows" in syncline("rows", "customers-to-hook").out
