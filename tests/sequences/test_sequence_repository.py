"""The sequence repository: definitions, triggers, cancel and the API shapes, on both catalogs."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sequence_fixtures import make_syncs
from sqlalchemy import func, select

from syncline.catalog import Catalog, ConflictError, InUseError, SlugTakenError, SyncRecord
from syncline.catalog.tables import SequenceRunRecord
from syncline.errors import ConfigError, NotFoundError, ValidationError
from syncline.scheduling.sequences import advance


def _create(catalog: Catalog, slug: str = "nightly") -> str:
    with catalog.session() as session:
        record = session.sequences.create(
            slug=slug,
            name="Nightly",
            steps=[{"sync": "first", "stopOn": "fatal"}, {"sync": "second", "stopOn": "never"}],
            schedule={"type": "cron", "schedule": {"expression": "0 3 * * *"}},
        )
        return record.id


def test_create_get_and_shape(catalog: Catalog, syncs: list[SyncRecord]) -> None:
    sequence_id = _create(catalog)

    assert str(uuid.UUID(sequence_id)) == sequence_id
    with catalog.session(read_only=True) as session:
        by_slug = session.sequences.get("nightly")
        shape = session.sequences.to_api(by_slug)

    assert shape["id"] == sequence_id
    assert shape["slug"] == "nightly"
    assert shape["name"] == "Nightly"
    assert shape["steps"] == [
        {"syncId": syncs[0].id, "stopOn": "fatal"},
        {"syncId": syncs[1].id, "stopOn": "never"},
    ]
    assert shape["schedule"] == {"type": "cron", "schedule": {"expression": "0 3 * * *"}}
    assert shape["disabled"] is False
    assert shape["createdAt"].endswith("Z")
    assert set(shape) == {
        "id", "slug", "name", "workspaceId", "steps", "schedule", "disabled", "createdAt",
        "updatedAt",
    }  # fmt: skip


def test_create_reports_every_problem_at_once(catalog: Catalog, syncs: list[SyncRecord]) -> None:
    with catalog.session() as session, pytest.raises(ValidationError) as caught:
        session.sequences.create(
            slug="bad slug",
            steps=[{"sync": "nope", "stopOn": "fatal"}, {"sync": "first", "stopOn": "sometimes"}],
        )

    where = {problem.location for problem in caught.value.problems}
    assert where == {"slug", "steps.0.syncId", "steps.1.stopOn"}
    assert "first" in str(caught.value), "the fix lists the syncs that exist"


def test_a_sequence_needs_steps_and_a_free_slug(catalog: Catalog, syncs: list[SyncRecord]) -> None:
    with catalog.session() as session, pytest.raises(ValidationError, match="at least one step"):
        session.sequences.create(slug="empty", steps=[])
    _create(catalog)
    with catalog.session() as session, pytest.raises(SlugTakenError):
        session.sequences.create(slug="nightly", steps=[{"sync": "first"}])


def test_update_replaces_steps_and_keeps_the_rest(
    catalog: Catalog, syncs: list[SyncRecord]
) -> None:
    sequence_id = _create(catalog)
    with catalog.session() as session:
        session.sequences.update(
            sequence_id, steps=[{"sync": syncs[2].id, "stopOn": "fatal_or_rejected"}]
        )
        session.sequences.update("nightly", schedule=None, disabled=True)

    with catalog.session(read_only=True) as session:
        shape = session.sequences.to_api(session.sequences.get(sequence_id))
    assert shape["steps"] == [{"syncId": syncs[2].id, "stopOn": "fatal_or_rejected"}]
    assert shape["schedule"] is None
    assert shape["disabled"] is True
    assert shape["name"] == "Nightly"


def test_list_and_delete(catalog: Catalog, syncs: list[SyncRecord]) -> None:
    _create(catalog, "b-seq")
    _create(catalog, "a-seq")
    with catalog.session() as session:
        assert [s.slug for s in session.sequences.list(order_by="slug")] == ["a-seq", "b-seq"]
        assert [s.slug for s in session.sequences.list(slug="b-seq")] == ["b-seq"]
        with pytest.raises(ValidationError, match="cannot sort"):
            session.sequences.list(order_by="colour")
        session.sequences.delete("a-seq")
    with catalog.session() as session, pytest.raises(NotFoundError, match="existing sync seq"):
        session.sequences.get("a-seq")


def test_a_sync_in_a_sequence_cannot_be_deleted(catalog: Catalog, syncs: list[SyncRecord]) -> None:
    _create(catalog)
    with catalog.session() as session, pytest.raises(InUseError, match="nightly"):
        session.syncs.delete("first")


def test_repeated_triggers_return_the_same_pending_run(
    catalog: Catalog, syncs: list[SyncRecord]
) -> None:
    _create(catalog)
    with catalog.session() as session:
        first = session.sequences.trigger("nightly")
        second = session.sequences.trigger("nightly")
    assert first.id == second.id
    assert first.status == "pending"

    advance(catalog)  # the pending run starts; a new trigger queues one more
    with catalog.session() as session:
        queued = session.sequences.trigger("nightly")
        again = session.sequences.trigger("nightly")
        statuses = sorted(session.orm.scalars(select(SequenceRunRecord.status)).all())
    assert queued.id == again.id != first.id
    assert statuses == ["pending", "running"]


def test_a_disabled_sequence_cannot_be_triggered(catalog: Catalog, syncs: list[SyncRecord]) -> None:
    _create(catalog)
    with catalog.session() as session:
        session.sequences.update("nightly", disabled=True)
    with catalog.session() as session, pytest.raises(ConfigError, match="is disabled"):
        session.sequences.trigger("nightly")


def test_status_output_has_exactly_the_api_keys(catalog: Catalog, syncs: list[SyncRecord]) -> None:
    _create(catalog)
    with catalog.session() as session:
        run_id = session.sequences.trigger("nightly").id
        assert session.sequences.run_to_api(session.sequences.get_run(run_id)) == {
            "id": run_id,
            "status": "pending",
            "syncRuns": [],
        }
    advance(catalog)

    with catalog.session(read_only=True) as session:
        shape = session.sequences.run_to_api(session.sequences.get_run(run_id))
    assert shape["status"] == "running"
    [step] = shape["syncRuns"]
    assert set(step) == {"syncId", "syncRunId", "status", "finishedAt"}
    assert step["syncId"] == syncs[0].id
    assert isinstance(step["syncRunId"], int)
    assert step["status"] == "queued"
    assert step["finishedAt"] is None


def test_cancel_a_pending_run_at_once(catalog: Catalog, syncs: list[SyncRecord]) -> None:
    _create(catalog)
    with catalog.session() as session:
        run_id = session.sequences.trigger("nightly").id
        cancelled = session.sequences.cancel(run_id)
    assert cancelled.status == "cancelled"
    assert cancelled.finished_at is not None
    with catalog.session() as session:
        assert session.sequences.trigger("nightly").id != run_id


def test_other_workspaces_see_nothing(catalog: Catalog, syncs: list[SyncRecord]) -> None:
    _create(catalog)
    with catalog.session() as session:
        run_id = session.sequences.trigger("nightly").id
        session.workspaces.create("other")
    make_syncs(catalog, "first", workspace="other")

    with catalog.session("other") as session:
        with pytest.raises(NotFoundError):
            session.sequences.get("nightly")
        with pytest.raises(NotFoundError):
            session.sequences.get_run(run_id)
        assert session.sequences.list() == []
        # A slug of the other workspace is free here, and steps name this workspace's syncs.
        mine = session.sequences.create(slug="nightly", steps=[{"sync": "first"}])
        [step] = session.sequences.steps(mine)
        assert step.sync_id not in {s.id for s in syncs}
        count = session.orm.scalar(select(func.count()).select_from(SequenceRunRecord))
    assert count == 1


def test_concurrent_triggers_share_one_pending_run(
    catalog: Catalog, syncs: list[SyncRecord]
) -> None:
    _create(catalog)

    def trigger() -> str:
        with catalog.session() as session:
            return session.sequences.trigger("nightly").id

    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = {future.result() for future in [pool.submit(trigger) for _ in range(12)]}

    assert len(ids) == 1
    with catalog.session(read_only=True) as session:
        assert session.orm.scalar(select(func.count()).select_from(SequenceRunRecord)) == 1


def test_a_running_sequence_cannot_be_deleted(catalog: Catalog, syncs: list[SyncRecord]) -> None:
    _create(catalog)
    with catalog.session() as session:
        session.sequences.trigger("nightly")
    advance(catalog)

    with catalog.session() as session, pytest.raises(ConflictError, match="in progress"):
        session.sequences.delete("nightly")


def test_a_running_sequence_keeps_its_steps(catalog: Catalog, syncs: list[SyncRecord]) -> None:
    _create(catalog)
    with catalog.session() as session:
        session.sequences.trigger("nightly")
    advance(catalog)
    reordered = [{"sync": "second", "stopOn": "never"}, {"sync": "first", "stopOn": "fatal"}]

    with catalog.session() as session, pytest.raises(ConflictError, match="in progress"):
        session.sequences.update("nightly", steps=reordered)
    with catalog.session() as session:
        # The same steps again (as apply sends them) and other fields still change.
        same = [{"sync": "first", "stopOn": "fatal"}, {"sync": "second", "stopOn": "never"}]
        session.sequences.update("nightly", name="Renamed", steps=same)
        shape = session.sequences.to_api(session.sequences.get("nightly"))
    assert [step["syncId"] for step in shape["steps"]] == [syncs[0].id, syncs[1].id]
    assert shape["name"] == "Renamed"
