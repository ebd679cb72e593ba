"""The ``nextRunAt`` a sync's create response shows is when its first scheduled run happens."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from api_fixtures import Api, make_pipeline, sync_body

from syncline.scheduling.scheduler import Scheduler
from syncline.settings import Settings

EVERY_MINUTE = {"type": "interval", "schedule": {"interval": {"unit": "minute", "quantity": 1}}}


def test_the_first_run_happens_at_the_next_run_the_create_response_showed(
    any_api: Api, tmp_path: Path
) -> None:
    made = make_pipeline(any_api, tmp_path)
    body = {**sync_body(made.model, made.destination, slug="minutely"), "schedule": EVERY_MINUTE}
    created = any_api.ok("POST", "/syncs", json=body)
    shown = datetime.fromisoformat(created["nextRunAt"].replace("Z", "+00:00"))

    # The scheduler's first tick after the create lands just past that time.
    scheduler = Scheduler(any_api.catalog, Settings(home=tmp_path / "home"))
    try:
        queued = scheduler.tick(shown + timedelta(seconds=3))
    finally:
        scheduler.stop()

    runs = any_api.ok("GET", f"/syncs/{created['id']}/runs")["data"]
    assert [str(run["id"]) for run in runs] == [str(run_id) for run_id in queued]
    assert len(runs) == 1
    after = any_api.ok("GET", f"/syncs/{created['id']}")["nextRunAt"]
    assert datetime.fromisoformat(after.replace("Z", "+00:00")) == shown + timedelta(minutes=1)
