"""The pages and forms through the test client: set-up, validation beside each field,
the overview's filters, sync actions, live run progress and the rejected-row search."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from web_fixtures import ADMIN, VIEWER, Browser, form_as_shown, make_user, signed_in

from syncline.alerts.store import effective_policy
from syncline.catalog import Catalog, RowResultRecord
from syncline.catalog.tables import AlertPolicyRecord
from syncline.catalog.types import utcnow
from syncline.scheduling.sequences import advance


@pytest.fixture
def admin(client: TestClient) -> Browser:
    """The admin, signed in."""
    return signed_in(client, ADMIN)


def _warehouse(tmp_path: Path) -> str:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            "CREATE TABLE users AS SELECT * FROM (VALUES "
            "(1, 'a@example.com', 'Ada'), (2, 'b@example.com', 'Bob')) t(id, email, name)"
        )
    return str(path)


def _set_up(admin: Browser, tmp_path: Path) -> int:
    """A source, model, destination and sync made through the forms; the sync's id."""
    source = {"name": "Warehouse", "slug": "wh", "type": "duckdb",
              "config.path": _warehouse(tmp_path)}  # fmt: skip
    assert admin.post("/sources/new", source).status_code == 303
    model = {"name": "Users", "slug": "users", "source": "1",
             "sql": "select id, email, name from users", "primary_key": "id"}  # fmt: skip
    assert admin.post("/models/new", model).status_code == 303
    destination = {"name": "Local", "slug": "local", "type": "sqlite",
                   "config.path": str(tmp_path / "out.sqlite")}  # fmt: skip
    assert admin.post("/destinations/new", destination).status_code == 303
    sync = {"slug": "users-local", "model": "1", "destination": "1", "mode": "upsert",
            "object": "users", "map_from": ["email", ""], "map_to": ["email_address", ""],
            "schedule_type": "interval", "interval_quantity": "2",
            "interval_unit": "hour"}  # fmt: skip
    response = admin.post("/syncs/new", sync)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def test_forms_create_what_the_api_then_serves(admin: Browser, tmp_path: Path) -> None:
    sync_id = _set_up(admin, tmp_path)

    page = admin.get(f"/syncs/{sync_id}").text
    assert "every 2 hours" in page
    assert "column email → email_address" in page
    assert "This sync has not run yet" in page

    overview = admin.get("/").text
    assert "users-local" in overview
    assert "Users" in overview
    assert "Local" in overview


def test_every_problem_of_a_sync_form_is_shown_beside_its_field(admin: Browser) -> None:
    response = admin.post(
        "/syncs/new",
        {"slug": "bad slug!", "model": "", "destination": "", "object": "x",
         "schedule_type": "cron", "cron_expression": "not cron"},
    )  # fmt: skip
    assert response.status_code == 422
    errors = dict(
        re.findall(r'<p class="field-error" id="([\w-]+)-error">([^<]+)</p>', response.text)
    )
    assert set(errors) >= {"slug", "model", "destination", "schedule"}
    assert "choose a model" in errors["model"]
    assert 'aria-invalid="true" aria-describedby="slug-error"' in response.text


def test_a_dbt_cloud_schedule_without_ids_is_refused_beside_its_inputs(
    admin: Browser, tmp_path: Path
) -> None:
    sync_id = _set_up(admin, tmp_path)
    edit = f"/syncs/{sync_id}/edit"
    form = {**form_as_shown(admin.get(edit).text, edit), "schedule_type": "dbt"}
    form.update({"dbt_account": "", "dbt_job": ""})

    response = admin.post(edit, form)

    assert response.status_code == 422
    errors = dict(
        re.findall(r'<p class="field-error" id="([\w-]+)-error">([^<]+)</p>', response.text)
    )
    assert "'account.id' is empty" in html.unescape(errors["dbt_account"])
    assert "'job.id' is empty" in html.unescape(errors["dbt_job"])


@pytest.mark.parametrize(
    "form", ["/sources/new", "/destinations/new", "/models/new", "/syncs/new", "/sequences/new"]
)
def test_the_slug_hint_states_the_rule_the_slug_is_checked_by(admin: Browser, form: str) -> None:
    page = html.unescape(admin.get(form).text)
    refused = admin.post("/sources/new", {"name": "S", "slug": "my.src", "type": "duckdb"})
    rule = "lower-case letters, digits, '-' or '_', starting with a letter or digit"

    assert rule in page
    assert "'.'" not in page
    assert rule in html.unescape(refused.text)


def test_a_source_with_a_bad_setting_is_not_saved(admin: Browser) -> None:
    response = admin.post(
        "/sources/new", {"name": "", "slug": "pg", "type": "postgres", "config.port": "x"}
    )
    assert response.status_code == 422
    assert 'id="name-error"' in response.text
    assert 'id="config-host-error"' in response.text
    assert 'id="config-port-error"' in response.text
    assert "No sources yet" in admin.get("/sources").text


def test_the_connection_test_reports_a_refused_connection(admin: Browser) -> None:
    data = {"type": "postgres", "config.host": "127.0.0.1", "config.port": "9",
            "config.user": "postgres", "config.database": "postgres"}  # fmt: skip
    response = admin.post("/sources/test", data)
    assert response.status_code == 200
    assert "✗" in response.text
    assert "Connection OK" not in response.text


def test_the_model_preview_shows_columns_and_rows(admin: Browser, tmp_path: Path) -> None:
    source = {"name": "W", "slug": "w", "type": "duckdb", "config.path": _warehouse(tmp_path)}
    admin.post("/sources/new", source)
    response = admin.post("/models/preview", {"source": "1", "sql": "select * from users"})
    assert "<code>email</code>" in response.text
    assert response.text.count("<tr>") == 3  # the header and two rows

    refused = admin.post("/models/preview", {"source": "1", "sql": "select * from nowhere"})
    assert "The source refused the query" in refused.text


def test_a_preview_of_an_incomplete_form_says_what_to_fill_in(admin: Browser) -> None:
    empty = admin.post("/models/preview", {"source": "", "sql": ""}).text
    no_query = admin.post("/models/preview", {"source": "1", "sql": ""}).text
    no_table = admin.post("/models/preview", {"source": "", "query_type": "table"}).text
    unknown = admin.post("/models/preview", {"source": "7", "sql": "select 1"}).text

    assert "Nothing was run yet: choose a source and write a query to preview." in empty
    assert "Nothing was run yet: write a query to preview." in no_query
    assert "choose a source and name a table" in no_table
    assert "Nothing was run" in unknown
    for text in (empty, no_query, no_table, unknown):
        assert "refused" not in text


def test_overview_filters_by_status_destination_and_text(admin: Browser, tmp_path: Path) -> None:
    _set_up(admin, tmp_path)
    assert "users-local" in admin.get("/?status=pending").text
    assert "users-local" not in admin.get("/?status=failed").text
    assert "users-local" in admin.get("/?destination=1&q=LOCAL").text
    assert "No sync matches these filters" in admin.get("/?q=nothing-like-this").text


def test_run_now_queues_a_run_whose_page_polls_until_it_ends(
    admin: Browser, tmp_path: Path, web_catalog: Catalog
) -> None:
    sync_id = _set_up(admin, tmp_path)
    response = admin.post(f"/syncs/{sync_id}/trigger/full-resync")
    assert response.status_code == 303
    run_path = response.headers["location"]

    page = admin.get(run_path).text
    assert 'hx-trigger="every 1s"' in page
    assert "Rejected rows appear here when the run ends" in page
    polled = admin.get(run_path + "/live").text
    assert 'hx-trigger="every 1s"' in polled
    assert 'id="rows-section"' not in polled  # swapped in once, when the run ends

    with web_catalog.session() as session:
        run = session.runs.get(int(run_path.rsplit("/", 1)[1]))
        assert run.full_resync
        run.status, run.finished_at, run.failed_added = "warning", utcnow(), 1
        session.orm.add(
            RowResultRecord(
                sync_id=sync_id, run_id=run.id, primary_key="2", operation="added",
                status="failed", reason="too long", payload=json.dumps({"id": 2}),
            )
        )  # fmt: skip

    live = admin.get(run_path + "/live").text
    assert "every 1s" not in live
    assert 'hx-swap-oob="true"' in live
    assert "Rejected rows (1)" in live
    assert "too long" in live
    assert "too long" in admin.get(run_path + "/rows?key=2").text
    assert "No rejected row has a key containing" in admin.get(run_path + "/rows?key=9").text


def test_a_disabled_sync_offers_enable_instead_of_run_now(admin: Browser, tmp_path: Path) -> None:
    sync_id = _set_up(admin, tmp_path)
    admin.post(f"/syncs/{sync_id}/enabled/off")

    page = admin.get(f"/syncs/{sync_id}").text
    assert ">Run now<" not in page
    assert "This sync is disabled, so it does not run" in page

    stale = admin.post(f"/syncs/{sync_id}/trigger/run")  # from a page shown before
    assert stale.status_code == 422
    assert "press Enable on this sync's page" in html.unescape(stale.text)
    assert "PATCH" not in stale.text


def test_a_query_the_source_refuses_names_the_form_s_save_unchecked_box(
    admin: Browser, tmp_path: Path
) -> None:
    source = {"name": "W", "slug": "w", "type": "duckdb", "config.path": _warehouse(tmp_path)}
    admin.post("/sources/new", source)
    model = {"name": "M", "slug": "m", "source": "1", "sql": "select * from nowhere",
             "primary_key": "id"}  # fmt: skip

    response = admin.post("/models/new", model)

    assert response.status_code == 422
    assert "Correct the query, or tick 'Save without running the query on the source'" in (
        html.unescape(response.text)
    )
    assert "skipColumnQuery" not in response.text


def test_disable_and_enable_a_sync(admin: Browser, tmp_path: Path, web_catalog: Catalog) -> None:
    sync_id = _set_up(admin, tmp_path)
    admin.post(f"/syncs/{sync_id}/enabled/off")
    with web_catalog.session(read_only=True) as session:
        assert session.syncs.get(sync_id).disabled
    assert ">Enable<" in admin.get(f"/syncs/{sync_id}").text
    admin.post(f"/syncs/{sync_id}/enabled/on")
    with web_catalog.session(read_only=True) as session:
        assert not session.syncs.get(sync_id).disabled


def test_editing_a_sync_keeps_what_the_form_does_not_change(
    admin: Browser, tmp_path: Path, web_catalog: Catalog
) -> None:
    sync_id = _set_up(admin, tmp_path)
    form = admin.get(f"/syncs/{sync_id}/edit").text
    assert 'value="email_address"' in form
    response = admin.post(
        f"/syncs/{sync_id}/edit",
        {"mode": "mirror", "object": "users", "map_from": ["email"], "map_to": ["mail"],
         "schedule_type": "visual", "visual_slot_0_monday": "on",
         "visual_slot_0_time": "08:30"},
    )  # fmt: skip
    assert response.status_code == 303, response.text
    with web_catalog.session(read_only=True) as session:
        sync = session.syncs.get(sync_id)
    assert sync.configuration["mode"] == "mirror"
    assert sync.configuration["mappings"][0]["to"] == "mail"
    assert sync.schedule == {
        "type": "visual",
        "schedule": {"expressions": [{"days": {"monday": True}, "time": "08:30"}]},
    }


def test_a_sync_s_object_cannot_change_while_it_runs(
    admin: Browser, tmp_path: Path, web_catalog: Catalog
) -> None:
    sync_id = _set_up(admin, tmp_path)
    with web_catalog.session() as session:
        session.runs.enqueue(sync_id)
        session.flush()
        assert session.runs.claim("test-worker") is not None
    edit = f"/syncs/{sync_id}/edit"
    form = {**form_as_shown(admin.get(edit).text, edit), "object": "people"}

    response = admin.post(edit, form)

    assert response.status_code == 422
    shown = html.unescape(response.text)
    assert "in progress" in shown
    assert "cancel it or wait for it to finish" in shown
    with web_catalog.session(read_only=True) as session:
        assert session.syncs.get(sync_id).configuration["object"] != "people"


STORED_SCHEDULES = [
    {"type": "cron", "schedule": {"expression": "30 6 * * mon-fri", "timezone": "Europe/Berlin"}},
    {"type": "visual", "schedule": {"timezone": "America/New_York", "expressions": [
        {"days": {"monday": True}, "time": "08:30"},
        {"days": {"friday": True}, "time": "17:00"}]}},
    {"type": "interval", "schedule": {"interval": {"unit": "minute", "quantity": 15}}},
    {"type": "dbt", "schedule": {"account": {"id": "7"}, "job": {"id": "42"}}},
]  # fmt: skip


@pytest.mark.parametrize("schedule", STORED_SCHEDULES)
def test_saving_a_sync_form_unchanged_keeps_its_schedule_exactly(
    admin: Browser, tmp_path: Path, web_catalog: Catalog, schedule: dict[str, object]
) -> None:
    sync_id = _set_up(admin, tmp_path)
    with web_catalog.session() as session:
        session.syncs.update(sync_id, schedule=schedule)

    form = form_as_shown(admin.get(f"/syncs/{sync_id}/edit").text, f"/syncs/{sync_id}/edit")
    response = admin.post(f"/syncs/{sync_id}/edit", form)

    assert response.status_code == 303, response.text
    with web_catalog.session(read_only=True) as session:
        assert session.syncs.get(sync_id).schedule == schedule


@pytest.mark.parametrize("schedule", STORED_SCHEDULES)
def test_saving_a_sequence_form_unchanged_keeps_its_schedule_exactly(
    admin: Browser, tmp_path: Path, web_catalog: Catalog, schedule: dict[str, object]
) -> None:
    sync_id = _set_up(admin, tmp_path)
    sequence = {"slug": "nightly", "step_sync": [str(sync_id)], "step_stop": ["fatal"],
                "schedule_type": "manual"}  # fmt: skip
    made = admin.post("/sequences/new", sequence)
    sequence_id = made.headers["location"].rsplit("/", 1)[1]
    with web_catalog.session() as session:
        session.sequences.update(sequence_id, schedule=schedule)

    edit = f"/sequences/{sequence_id}/edit"
    response = admin.post(edit, form_as_shown(admin.get(edit).text, edit))

    assert response.status_code == 303, response.text
    with web_catalog.session(read_only=True) as session:
        assert session.sequences.get(sequence_id).schedule == schedule


def test_a_schedule_is_shown_in_its_own_time_zone(
    admin: Browser, tmp_path: Path, web_catalog: Catalog
) -> None:
    sync_id = _set_up(admin, tmp_path)
    with web_catalog.session() as session:
        session.syncs.update(sync_id, schedule=STORED_SCHEDULES[0])

    assert "cron 30 6 * * mon-fri (Europe/Berlin)" in admin.get(f"/syncs/{sync_id}").text
    form = admin.get(f"/syncs/{sync_id}/edit").text
    assert 'value="Europe/Berlin"' in form
    assert "Cron (UTC)" not in form


def test_a_visual_slot_is_added_in_the_empty_row_and_removed_with_its_box(
    admin: Browser, tmp_path: Path, web_catalog: Catalog
) -> None:
    sync_id = _set_up(admin, tmp_path)
    with web_catalog.session() as session:
        session.syncs.update(sync_id, schedule=STORED_SCHEDULES[1])
    edit = f"/syncs/{sync_id}/edit"
    form = form_as_shown(admin.get(edit).text, edit)
    # Two stored slots, then the empty one: fill that, and remove Monday's.
    form.update({"visual_slot_2_sunday": "on", "visual_slot_2_time": "10:00",
                 "visual_slot_0_remove": "on"})  # fmt: skip

    assert admin.post(edit, form).status_code == 303
    with web_catalog.session(read_only=True) as session:
        stored = session.syncs.get(sync_id).schedule
    assert stored["schedule"]["expressions"] == [
        {"days": {"friday": True}, "time": "17:00"},
        {"days": {"sunday": True}, "time": "10:00"},
    ]
    assert stored["schedule"]["timezone"] == "America/New_York"


def test_a_user_sees_only_their_workspace(
    client: TestClient, admin: Browser, tmp_path: Path, web_catalog: Catalog
) -> None:
    sync_id = _set_up(admin, tmp_path)
    with web_catalog.session() as session:
        session.workspaces.create("other")
    make_user(web_catalog, "other@example.com", "admin", workspace="other")
    admin.post("/logout")

    other = signed_in(client, "other@example.com")
    assert "users-local" not in other.get("/").text
    assert other.get(f"/syncs/{sync_id}").status_code == 404
    assert other.get("/sources/1").status_code == 404


def test_a_viewer_sees_forms_read_only(client: TestClient, admin: Browser, tmp_path: Path) -> None:
    sync_id = _set_up(admin, tmp_path)
    admin.post("/logout")
    viewer = signed_in(client, VIEWER)
    page = viewer.get(f"/syncs/{sync_id}/edit").text
    assert "<fieldset disabled>" in page
    assert "Save sync" not in page
    assert viewer.post(f"/syncs/{sync_id}/enabled/off").status_code == 403


def test_a_sequence_is_made_edited_and_run_from_its_pages(
    admin: Browser, tmp_path: Path, web_catalog: Catalog
) -> None:
    sync_id = _set_up(admin, tmp_path)
    assert "No sequences yet" in admin.get("/sequences").text

    refused = admin.post("/sequences/new", {"slug": "nightly", "step_sync": [""]})
    assert refused.status_code == 422
    assert 'id="steps-error"' in refused.text

    made = admin.post(
        "/sequences/new",
        {"slug": "nightly", "name": "Nightly", "step_sync": [str(sync_id), ""],
         "step_stop": ["fatal_or_rejected", "fatal"], "schedule_type": "cron",
         "cron_expression": "0 3 * * *"},
    )  # fmt: skip
    assert made.status_code == 303, made.text
    page = admin.get(made.headers["location"]).text
    assert "cron 0 3 * * * (UTC)" in page
    assert "users-local" in page

    sequence_id = made.headers["location"].rsplit("/", 1)[1]
    assert admin.post(f"/sequences/{sequence_id}/run").status_code == 303
    with web_catalog.session(read_only=True) as session:
        runs = session.sequences.list_runs(sequence_id)
    assert [run.status for run in runs] == ["pending"]

    edited = admin.post(
        f"/sequences/{sequence_id}/edit",
        {"name": "Every night", "step_sync": [str(sync_id)], "step_stop": ["never"],
         "schedule_type": "manual"},
    )  # fmt: skip
    assert edited.status_code == 303, edited.text
    with web_catalog.session(read_only=True) as session:
        record = session.sequences.get(sequence_id)
        assert record.name == "Every night"
        assert record.schedule is None
        assert [s.stop_on for s in session.sequences.steps(record)] == ["never"]

    blank = admin.post(
        f"/sequences/{sequence_id}/edit",
        {"name": "", "step_sync": [str(sync_id)], "step_stop": ["fatal"],
         "schedule_type": "manual"},
    )  # fmt: skip
    assert blank.status_code == 303, blank.text
    with web_catalog.session(read_only=True) as session:
        record = session.sequences.get(sequence_id)
        assert record.name == "Every night"
        assert [s.stop_on for s in session.sequences.steps(record)] == ["fatal"]


def test_a_model_edit_that_breaks_a_sync_says_so_and_saves_nothing(
    admin: Browser, tmp_path: Path
) -> None:
    _set_up(admin, tmp_path)
    edit = {"name": "Users", "slug": "users", "source": "1", "query_type": "raw_sql",
            "sql": "select id as uid, name from users", "primary_key": "uid"}  # fmt: skip

    refused = admin.post("/models/1", edit)

    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert "sync 'users-local'" in text
    assert "column 'email'" in text
    assert "Saved." not in text
    assert "select id, email, name from users" in admin.get("/models/1").text


def test_delete_a_model_in_use_is_refused_then_allowed(admin: Browser, tmp_path: Path) -> None:
    sync_id = _set_up(admin, tmp_path)
    refused = admin.post("/models/1/delete")
    assert refused.status_code == 409
    assert "users-local" in refused.text

    assert admin.post(f"/syncs/{sync_id}/delete").status_code == 303
    assert admin.get(f"/syncs/{sync_id}").status_code == 404
    assert admin.post("/models/1/delete").status_code == 303
    assert "No models yet" in admin.get("/models").text


def test_cancel_a_queued_run(admin: Browser, tmp_path: Path, web_catalog: Catalog) -> None:
    sync_id = _set_up(admin, tmp_path)
    run_path = admin.post(f"/syncs/{sync_id}/trigger/run").headers["location"]
    assert "Cancel run" in admin.get(run_path).text
    assert admin.post(run_path + "/cancel").status_code == 303
    with web_catalog.session(read_only=True) as session:
        assert session.runs.get(int(run_path.rsplit("/", 1)[1])).status == "cancelled"


def test_alert_policies_are_checked_stored_sealed_and_shown_without_secrets(
    admin: Browser, tmp_path: Path, web_catalog: Catalog
) -> None:
    sync_id = _set_up(admin, tmp_path)
    assert "built-in defaults, nobody notified" in admin.get("/alerts").text

    refused = admin.post(
        "/alerts/destinations/1",
        {"rejected_mode": "own", "rejected_count": "-3", "slow_mode": "own", "slow_after": "soon"},
    )
    assert refused.status_code == 422
    assert 'id="rejected-error"' in refused.text
    assert 'id="slow-error"' in refused.text

    hook = "http://127.0.0.1:9/hooks/T000/secret-path"
    saved = admin.post(
        "/alerts/destinations/1",
        {"rejected_mode": "own", "rejected_count": "10", "slow_mode": "own", "slow_after": "30m",
         "new_type": "slack", "new_url": hook, "new_level": "critical"},
    )  # fmt: skip
    assert saved.status_code == 303, saved.text
    page = admin.get("/alerts/destinations/1").text
    assert "slack at 127.0.0.1" in page
    assert "secret-path" not in page
    assert 'value="10"' in page

    with web_catalog.session(read_only=True) as session:
        record = session.orm.scalars(select(AlertPolicyRecord)).one()
        assert "secret-path" not in json.dumps(record.configuration)
        policy = effective_policy(session.orm, web_catalog.secrets, 1, sync_id)
    assert policy.triggers.rejected_rows is not None
    assert policy.triggers.rejected_rows.count == 10
    assert policy.triggers.slow_run is not None
    assert policy.triggers.slow_run.after == 1800
    assert [r.url for r in policy.recipients or []] == [hook]

    admin.post(
        "/alerts/destinations/1",
        {"rejected_mode": "own", "rejected_count": "10", "remove_recipient": ["0"]},
    )
    assert "Nobody yet" in admin.get("/alerts/destinations/1").text


def test_alert_form_errors_speak_in_the_form_s_units(admin: Browser, tmp_path: Path) -> None:
    _set_up(admin, tmp_path)

    refused = admin.post(
        "/alerts/destinations/1",
        {"rejected_mode": "own", "rejected_share": "500", "drop_mode": "own", "drop_share": "5",
         "new_type": "webhook",
         "new_url": "http://169.254.169.254/latest/meta-data/"},
    )  # fmt: skip
    assert refused.status_code == 422
    errors = dict(
        re.findall(r'<p class="field-error" id="([\w-]+)-error">([^<]+)</p>', refused.text)
    )
    assert errors["rejected"] == "give a percentage above 0 and at most 100"
    assert "drop" not in errors, "5 (percent) is a valid share"
    assert "link-local address" in html.unescape(errors["new_url"])
    assert "Value error" not in refused.text
    assert "less than or equal to 1" not in refused.text


def test_connection_settings_come_with_their_documentation(admin: Browser) -> None:
    page = admin.get("/sources/new?type=postgres").text
    assert 'name="config.host"' in page
    assert "Role to log in as" in page
    assert 'type="password"' in page
    assert "Password of user; leave out for trust or peer authentication." in page


def test_clear_and_fill_needs_a_confirmation(
    admin: Browser, tmp_path: Path, web_catalog: Catalog
) -> None:
    sync_id = _set_up(admin, tmp_path)
    refused = admin.post(f"/syncs/{sync_id}/trigger/clear-and-fill")
    assert refused.status_code == 422
    assert "Tick the box" in refused.text

    queued = admin.post(f"/syncs/{sync_id}/trigger/clear-and-fill", {"confirm": "on"})
    assert queued.status_code == 303
    with web_catalog.session(read_only=True) as session:
        run = session.runs.get(int(queued.headers["location"].rsplit("/", 1)[1]))
    assert run.clear_and_fill


def test_a_sequence_run_is_cancelled_and_the_sequence_deleted(
    admin: Browser, tmp_path: Path, web_catalog: Catalog
) -> None:
    sync_id = _set_up(admin, tmp_path)
    made = admin.post(
        "/sequences/new",
        {"slug": "nightly", "step_sync": [str(sync_id)], "step_stop": ["fatal"],
         "schedule_type": "manual"},
    )  # fmt: skip
    sequence_path = made.headers["location"]
    admin.post(sequence_path + "/run")
    with web_catalog.session(read_only=True) as session:
        run_id = session.sequences.list_runs(sequence_path.rsplit("/", 1)[1])[0].id
    assert ">Cancel<" in admin.get(sequence_path).text

    assert admin.post(f"{sequence_path}/runs/{run_id}/cancel").status_code == 303
    with web_catalog.session(read_only=True) as session:
        assert session.sequences.get_run(run_id).status == "cancelled"

    assert admin.post(sequence_path + "/delete").status_code == 303
    assert "No sequences yet" in admin.get("/sequences").text


def test_the_overview_table_refreshes_itself_with_the_same_filters(
    admin: Browser, tmp_path: Path
) -> None:
    _set_up(admin, tmp_path)
    page = admin.get("/?status=pending&q=users").text
    assert 'hx-get="/?status=pending&amp;q=users"' in page
    assert 'hx-trigger="every 10s"' in page


def test_a_model_can_read_a_whole_table(admin: Browser, tmp_path: Path) -> None:
    source = {"name": "W", "slug": "w", "type": "duckdb", "config.path": _warehouse(tmp_path)}
    admin.post("/sources/new", source)
    shown = admin.post("/models/preview", {"source": "1", "query_type": "table", "table": "users"})
    assert "<code>email</code>" in shown.text

    model = {"name": "All users", "slug": "all-users", "source": "1", "query_type": "table",
             "table": "users", "primary_key": "id"}  # fmt: skip
    made = admin.post("/models/new", model)
    assert made.status_code == 303, made.text
    form = admin.get(made.headers["location"]).text
    assert 'value="users"' in form

    missing = dict(model, slug="nowhere", table="nowhere")
    refused = admin.post("/models/new", missing)
    assert refused.status_code == 422
    assert 'id="table-error"' in refused.text


def test_a_running_sequence_s_steps_cannot_be_edited(
    admin: Browser, tmp_path: Path, web_catalog: Catalog
) -> None:
    sync_id = _set_up(admin, tmp_path)
    made = admin.post(
        "/sequences/new",
        {"slug": "nightly", "step_sync": [str(sync_id)], "step_stop": ["fatal"],
         "schedule_type": "manual"},
    )  # fmt: skip
    sequence_id = made.headers["location"].rsplit("/", 1)[1]
    admin.post(f"/sequences/{sequence_id}/run")
    advance(web_catalog)

    edited = admin.post(
        f"/sequences/{sequence_id}/edit",
        {
            "name": "nightly",
            "step_sync": [str(sync_id)],
            "step_stop": ["never"],
            "schedule_type": "manual",
        },
    )

    assert edited.status_code == 422
    shown = re.findall(r'class="error"[^>]*>([^<]*)', html.unescape(edited.text))
    assert any("in progress; cancel it or wait for it to finish" in text for text in shown)
    with web_catalog.session(read_only=True) as session:
        steps = session.sequences.steps(session.sequences.get(sequence_id))
    assert [step.stop_on for step in steps] == ["fatal"]
