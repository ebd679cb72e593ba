"""The queue refuses a trigger that contradicts the queued run, for every caller."""

from __future__ import annotations

import pytest
from catalog_fixtures import Pipeline

from syncline.catalog import Catalog, RunTrigger
from syncline.errors import ValidationError


def test_cli_and_scheduler_paths_refuse_through_the_queue(
    catalog: Catalog, pipeline: Pipeline
) -> None:
    with catalog.session() as session:
        queued = session.runs.enqueue(pipeline.sync.id, RunTrigger(reset_cdc=True))
        with pytest.raises(ValidationError, match=f"run {queued.id} is already queued"):
            session.runs.enqueue(pipeline.sync.id, RunTrigger(full_resync=True))
        # A plain trigger (the scheduler's) still joins.
        assert session.runs.enqueue(pipeline.sync.id, triggered_by="schedule").id == queued.id
        assert (queued.reset_cdc, queued.full_resync) == (True, False)


def test_a_queued_dry_run_stays_a_dry_run_whatever_triggers_after_it(
    catalog: Catalog, pipeline: Pipeline
) -> None:
    with catalog.session() as session:
        dry = session.runs.enqueue(pipeline.sync.id, RunTrigger(dry_run=True))
        for trigger, by in ((RunTrigger(), "schedule"), (RunTrigger(reset_cdc=True), "api")):
            with pytest.raises(ValidationError, match=f"run {dry.id} is already queued") as err:
                session.runs.enqueue(pipeline.sync.id, trigger, triggered_by=by)
            assert "queued dry run" in str(err.value)
        # Another dry run joins it, and may add flags.
        joined = session.runs.enqueue(pipeline.sync.id, RunTrigger(dry_run=True, full_resync=True))
        assert joined.id == dry.id

    with catalog.session(read_only=True) as session:
        run = session.runs.get(dry.id)
        assert (run.dry_run, run.reset_cdc, run.full_resync) == (True, False, True)
