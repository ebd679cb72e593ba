"""``syncline syncs list`` shows when each scheduled sync runs next."""

from __future__ import annotations

from pathlib import Path

from cli_harness import Invoke

from syncline.cli.exitcodes import ExitCode


def test_syncs_list_shows_the_next_run_of_a_scheduled_sync(syncline: Invoke, workdir: Path) -> None:
    assert syncline("init", "proj", "--workspace", "default").code == ExitCode.OK
    syncs = workdir / "proj" / "syncs.yml"
    daily = "schedule: {type: cron, schedule: {expression: '15 6 * * *'}}"
    syncs.write_text(syncs.read_text().replace("schedule: null", daily, 1))
    applied = syncline("apply", "--project", "proj")
    assert applied.code == ExitCode.OK, applied.err

    listed = syncline("syncs", "list")

    assert "next run (UTC)" in listed.out
    rows = {line.split("│")[2].strip(): line for line in listed.out.splitlines() if "│" in line}
    assert "06:15:00 UTC" in rows["customers-to-crm"]
    assert rows["customers-to-csv"].rstrip(" │").endswith("-")
