"""A scheduler process killed mid-tick: after a restart, exactly one run of the due time."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from syncline.catalog import Catalog
from syncline.catalog.tables import RunRecord, ScheduleStateRecord
from syncline.scheduling.scheduler import Scheduler
from syncline.settings import Settings

HOURLY = {"type": "interval", "schedule": {"interval": {"unit": "hour", "quantity": 1}}}
T0 = datetime(2026, 12, 4, 10, 20, tzinfo=UTC)
DUE = datetime(2026, 12, 4, 11, 0, tzinfo=UTC)

_CRASHING_TICK = """
import os, sys
from datetime import datetime
from pathlib import Path

from syncline.catalog import Catalog
from syncline.scheduling import targets
from syncline.scheduling.scheduler import Scheduler
from syncline.settings import Settings

home, now = Path(sys.argv[1]), datetime.fromisoformat(sys.argv[2])
queue = targets.Target.start

def start_then_die(self, session, record):
    run_id = queue(self, session, record)
    session.flush()  # the run row is written, the transaction not yet committed
    os._exit(17)

targets.Target.start = start_then_die
catalog = Catalog.from_url(f"sqlite:///{home / 'syncline.db'}", home=home)
Scheduler(catalog, Settings(home=home)).tick(now)
"""


def _open(home: Path) -> Catalog:
    return Catalog.from_url(f"sqlite:///{home / 'syncline.db'}", home=home)


def test_a_scheduler_killed_after_queuing_leaves_no_run_and_the_next_queues_one(
    tmp_path: Path,
) -> None:
    catalog = _open(tmp_path)
    try:
        with catalog.session() as session:
            source = session.sources.create(name="wh", slug="wh", type="duckdb", configuration={})
            hook = session.destinations.create(
                name="hook", slug="hook", type="webhook", configuration={}
            )
            model = session.models.create(
                name="m", slug="m", source=source, query_type="raw_sql", primary_key="id",
                sql="SELECT 1 AS id",
            )  # fmt: skip
            session.syncs.create(
                slug="hourly", model=model, destination=hook, configuration={}, schedule=HOURLY
            )
        first = Scheduler(catalog, Settings(home=tmp_path))
        first.tick(T0)
        first.stop()
    finally:
        catalog.close()

    killed = subprocess.run(
        [sys.executable, "-c", _CRASHING_TICK, str(tmp_path), "2026-12-04T11:00:05+00:00"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == 17, killed.stderr

    catalog = _open(tmp_path)
    try:
        with catalog.session() as session:
            assert list(session.orm.scalars(select(RunRecord))) == []
            state = session.orm.scalar(select(ScheduleStateRecord))
            assert state is not None
            assert state.next_run_at == DUE  # the killed tick's work is all undone

        restarted = Scheduler(catalog, Settings(home=tmp_path))
        assert len(restarted.tick(datetime(2026, 12, 4, 11, 0, 10, tzinfo=UTC))) == 1
        assert restarted.tick(datetime(2026, 12, 4, 11, 0, 15, tzinfo=UTC)) == []
        restarted.stop()
        with catalog.session() as session:
            runs = list(session.orm.scalars(select(RunRecord)))
        assert [run.triggered_by for run in runs] == ["schedule"]
    finally:
        catalog.close()
