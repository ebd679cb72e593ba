"""What the API offers, the UI offers too: dry runs, every run of the history, every
rejected row page by page and by operation, and models saved unchecked.

Admins act; viewers see the same pages without the buttons and are refused (403).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_fixtures import ADMIN, VIEWER, Browser, signed_in, sync_made_in_forms

from syncline.api.routes import sequences as sequence_routes
from syncline.api.sequence_schemas import SequenceStep, SyncSequenceCreate
from syncline.catalog import Catalog, RowResultRecord
from syncline.catalog.tables import RunRecord, SequenceRunRecord
from syncline.catalog.types import utcnow
from syncline.web.pages import sequences as sequence_pages
from syncline.web.pages import syncs as sync_pages


@pytest.fixture
def admin(client: TestClient) -> Browser:
    """The admin, signed in."""
    return signed_in(client, ADMIN)


def _finished_runs(catalog: Catalog, sync_id: int, count: int) -> list[int]:
    with catalog.session() as session:
        runs = [
            RunRecord(sync_id=sync_id, status="success", created_at=utcnow(),
                      started_at=utcnow(), finished_at=utcnow())
            for _ in range(count)
        ]  # fmt: skip
        session.orm.add_all(runs)
        session.flush()
        return [run.id for run in runs]


def test_an_admin_can_queue_a_dry_run_and_a_viewer_cannot(
    client: TestClient, tmp_path: Path, web_catalog: Catalog
) -> None:
    admin = signed_in(client, ADMIN)
    sync_id = sync_made_in_forms(admin, tmp_path)
    assert "/trigger/dry-run" in admin.get(f"/syncs/{sync_id}").text

    queued = admin.post(f"/syncs/{sync_id}/trigger/dry-run")

    assert queued.status_code == 303
    run_id = int(queued.headers["location"].rsplit("/", 1)[1])
    with web_catalog.session(read_only=True) as session:
        run = session.runs.get(run_id)
        assert run.dry_run
        assert not run.full_resync
    assert "dry run (nothing written)" in admin.get(queued.headers["location"]).text

    viewer = signed_in(client, VIEWER)
    assert "/trigger/dry-run" not in viewer.get(f"/syncs/{sync_id}").text
    assert viewer.post(f"/syncs/{sync_id}/trigger/dry-run").status_code == 403


def test_run_now_while_a_dry_run_is_queued_is_refused_and_the_dry_run_stays_dry(
    admin: Browser, tmp_path: Path, web_catalog: Catalog
) -> None:
    sync_id = sync_made_in_forms(admin, tmp_path)
    running = int(admin.post(f"/syncs/{sync_id}/trigger/run").headers["location"].split("/")[-1])
    with web_catalog.session() as session:
        session.runs.start(running, "test-worker")
    dry = admin.post(f"/syncs/{sync_id}/trigger/dry-run").headers["location"].split("/")[-1]

    refused = admin.post(f"/syncs/{sync_id}/trigger/run")

    assert refused.status_code == 422
    assert f"run {dry} is already queued" in refused.text
    with web_catalog.session(read_only=True) as session:
        assert session.runs.get(int(dry)).dry_run


def test_disable_cancels_the_queued_run_as_the_api_does(
    admin: Browser, tmp_path: Path, web_catalog: Catalog
) -> None:
    sync_id = sync_made_in_forms(admin, tmp_path)
    running = int(admin.post(f"/syncs/{sync_id}/trigger/run").headers["location"].split("/")[-1])
    with web_catalog.session() as session:
        session.runs.start(running, "test-worker")
    queued = int(admin.post(f"/syncs/{sync_id}/trigger/run").headers["location"].split("/")[-1])

    assert admin.post(f"/syncs/{sync_id}/enabled/off").status_code == 303

    with web_catalog.session(read_only=True) as session:
        run = session.runs.get(queued)
        assert run.status == "cancelled"
        assert "'users-out' was disabled" in (run.error or "")
        assert session.runs.get(running).status == "querying"


def test_older_runs_are_reached_page_by_page(
    admin: Browser, tmp_path: Path, web_catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync_pages, "HISTORY", 2)
    sync_id = sync_made_in_forms(admin, tmp_path)
    first, second, third = _finished_runs(web_catalog, sync_id, 3)

    newest = admin.get(f"/syncs/{sync_id}").text
    older = admin.get(f"/syncs/{sync_id}?older=2").text

    assert f"#{third}<" in newest
    assert f"#{second}<" in newest
    assert f"#{first}<" not in newest
    assert f'href="/syncs/{sync_id}?older=2"' in newest
    assert f"#{first}<" in older
    assert f"#{third}<" not in older
    assert "Older runs" not in older
    assert "Newer runs" in older
    assert "No runs this far back" in admin.get(f"/syncs/{sync_id}?older=9").text


def test_older_sequence_runs_are_reached_page_by_page(
    admin: Browser, tmp_path: Path, web_catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sequence_pages, "RUNS_SHOWN", 2)
    sync_id = sync_made_in_forms(admin, tmp_path)
    with web_catalog.session() as session:
        body = SyncSequenceCreate(slug="nightly", steps=[SequenceStep(syncId=sync_id)])
        sequence = sequence_routes.create_sequence(body, session)["id"]
        for hour, error in enumerate(("first", "second", "third")):
            session.orm.add(
                SequenceRunRecord(
                    id=f"00000000-0000-0000-0000-00000000000{hour}", sequence_id=sequence,
                    status="failed", error=f"the {error} run",
                    created_at=utcnow().replace(hour=hour),
                )
            )  # fmt: skip

    newest = admin.get(f"/sequences/{sequence}").text
    older = admin.get(f"/sequences/{sequence}?older=2").text

    assert "the third run" in newest
    assert "the first run" not in newest
    assert "Older runs" in newest
    assert "the first run" in older
    assert "the third run" not in older
    assert "Newer runs" in older


def test_rejected_rows_are_filtered_by_operation_and_paged(
    admin: Browser, tmp_path: Path, web_catalog: Catalog
) -> None:
    sync_id = sync_made_in_forms(admin, tmp_path)
    [run_id] = _finished_runs(web_catalog, sync_id, 1)
    with web_catalog.session() as session:
        session.orm.add_all(
            RowResultRecord(sync_id=sync_id, run_id=run_id, primary_key=f"key-{n:03}",
                            operation="removed" if n % 50 == 0 else "added",
                            status="failed", reason=f"reason {n}")
            for n in range(1, 131)
        )  # fmt: skip
    rows = f"/syncs/{sync_id}/runs/{run_id}/rows"

    first = admin.get(rows).text
    second = admin.get(rows + "?offset=100").text
    removed = admin.get(rows + "?op=removed").text

    assert first.count('<th scope="row">') == 100
    assert "Next 100" in first
    assert "Previous 100" not in first
    assert second.count('<th scope="row">') == 30
    assert "key-130" in second
    assert "Next 100" not in second
    assert "Previous 100" in second
    assert removed.count('<th scope="row">') == 2
    assert "key-050" in removed
    assert "key-100" in removed
    assert "key-001" not in removed
    assert "No changed row was rejected" in admin.get(rows + "?op=changed").text
    page = admin.get(f"/syncs/{sync_id}/runs/{run_id}?op=removed").text
    assert "key-050" in page
    assert "key-001" not in page


def test_the_rejected_rows_pager_links_encode_the_search_once(
    admin: Browser, tmp_path: Path, web_catalog: Catalog
) -> None:
    sync_id = sync_made_in_forms(admin, tmp_path)
    [run_id] = _finished_runs(web_catalog, sync_id, 1)
    with web_catalog.session() as session:
        session.orm.add_all(
            RowResultRecord(sync_id=sync_id, run_id=run_id, primary_key=f"a&b {n:03}",
                            operation="added", status="failed", reason="no")
            for n in range(1, 202)
        )  # fmt: skip
    rows = f"/syncs/{sync_id}/runs/{run_id}/rows"

    page = admin.get(rows, params={"key": "a&b", "op": "added", "offset": "100"}).text
    links = re.findall(r'href="([^"]+)"', page)

    query = "key=a%26b&amp;op=added&amp;offset="
    assert f"{rows}?{query}0" in links
    assert f"{rows}?{query}200" in links
    assert f'hx-get="{rows}?{query}200"' in page


def test_rejected_rows_past_retention_are_said_to_be_pruned_not_absent(
    admin: Browser, tmp_path: Path, web_catalog: Catalog
) -> None:
    sync_id = sync_made_in_forms(admin, tmp_path)
    old, recent = _finished_runs(web_catalog, sync_id, 2)
    with web_catalog.session() as session:
        for run_id, days_ago in ((old, 8), (recent, 6)):
            run = session.orm.get_one(RunRecord, run_id)
            run.failed_added = 3
            run.finished_at = utcnow() - timedelta(days=days_ago)

    pruned = "The rejected rows of this run were pruned: row results are kept 7 days"
    old_page = admin.get(f"/syncs/{sync_id}/runs/{old}").text
    assert "Rejected rows (3)" in old_page
    assert pruned in old_page
    assert pruned in admin.get(f"/syncs/{sync_id}/runs/{old}/rows?key=x").text
    assert pruned not in admin.get(f"/syncs/{sync_id}/runs/{recent}").text


@pytest.mark.parametrize("offset", ["abc", "-1", "1" * 40])
def test_a_bad_rows_offset_is_the_ui_s_message_page(
    admin: Browser, tmp_path: Path, web_catalog: Catalog, offset: str
) -> None:
    sync_id = sync_made_in_forms(admin, tmp_path)
    [run_id] = _finished_runs(web_catalog, sync_id, 1)

    response = admin.get(f"/syncs/{sync_id}/runs/{run_id}/rows", params={"offset": offset})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "is not a row number" in response.text

    unknown = admin.get(f"/syncs/{sync_id}/runs/{run_id + 99}/rows")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("text/html")


def test_a_model_can_be_saved_without_its_query_being_run(admin: Browser, tmp_path: Path) -> None:
    sync_made_in_forms(admin, tmp_path)
    model = {"name": "Later", "slug": "later", "source": "1", "primary_key": "id",
             "sql": "select id from a_table_made_tomorrow"}  # fmt: skip

    checked = admin.post("/models/new", model)
    unchecked = admin.post("/models/new", {**model, "skip_check": "on"})

    assert checked.status_code == 422
    assert "a_table_made_tomorrow" in checked.text
    assert unchecked.status_code == 303, unchecked.text


def test_a_cdc_reset_run_page_says_how_many_rejected_rows_it_gave_up(
    admin: Browser, tmp_path: Path, web_catalog: Catalog
) -> None:
    sync_id = sync_made_in_forms(admin, tmp_path)
    [run_id] = _finished_runs(web_catalog, sync_id, 1)
    with web_catalog.session() as session:
        run = session.orm.get(RunRecord, run_id)
        assert run is not None
        run.reset_cdc = True
        run.rejected_given_up = 4

    page = admin.get(f"/syncs/{sync_id}/runs/{run_id}").text

    assert "CDC reset: the model&#39;s current rows were taken as synced" in page
    assert "4 rejected rows of earlier runs are no longer retried" in page
    assert "Error:" not in page
