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
