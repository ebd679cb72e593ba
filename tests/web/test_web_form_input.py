"""Form input a browser may send that the forms must answer beside a field, not with a 500,
and the sync page's actions: which it offers and how the runs they start are recorded."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_fixtures import ADMIN, Browser, form_as_shown, signed_in, sync_made_in_forms

from syncline.catalog import Catalog

SUPERSCRIPT_TWO = "\u00b2"
"""'²': ``str.isdigit`` says yes, ``int`` refuses it; a browser sends it as %C2%B2."""


@pytest.fixture
def admin(client: TestClient) -> Browser:
    """The admin, signed in."""
    return signed_in(client, ADMIN)


def _errors(page: str) -> dict[str, str]:
    found = re.findall(r'<p class="field-error" id="([\w-]+)-error">([^<]+)</p>', page)
    return {field: html.unescape(text) for field, text in found}


def test_a_superscript_interval_quantity_is_refused_beside_the_schedule(
    admin: Browser, tmp_path: Path
) -> None:
    sync_id = sync_made_in_forms(admin, tmp_path)
    edit = f"/syncs/{sync_id}/edit"
    form = {**form_as_shown(admin.get(edit).text, edit), "schedule_type": "interval"}
    form.update({"interval_quantity": SUPERSCRIPT_TWO, "interval_unit": "minute"})

    response = admin.post(edit, form)

    assert response.status_code == 422
    assert "quantity" in _errors(response.text)["schedule"]


def test_a_superscript_model_and_destination_are_refused_beside_their_fields(
    admin: Browser,
) -> None:
    form = {"slug": "s", "model": SUPERSCRIPT_TWO, "destination": SUPERSCRIPT_TWO,
            "object": "x", "schedule_type": "manual"}  # fmt: skip

    response = admin.post("/syncs/new", form)

    assert response.status_code == 422
    errors = _errors(response.text)
    assert errors["model"] == "choose a model"
    assert errors["destination"] == "choose a destination"


def test_a_superscript_source_of_a_model_is_refused_beside_its_field(admin: Browser) -> None:
    form = {"name": "M", "slug": "m", "source": SUPERSCRIPT_TWO, "sql": "select 1 as id"}

    response = admin.post("/models/new", form)

    assert response.status_code == 422
    assert _errors(response.text)["source"] == "choose the source the query runs on"


def test_a_superscript_source_in_a_preview_asks_for_a_source(admin: Browser) -> None:
    form = {"source": SUPERSCRIPT_TWO, "sql": "select 1 as id"}

    response = admin.post("/models/preview", form)

    assert response.status_code == 200
    assert "choose a source" in response.text


def test_a_superscript_sequence_step_is_not_a_step(admin: Browser, tmp_path: Path) -> None:
    sync_made_in_forms(admin, tmp_path)
    form = {"name": "Seq", "slug": "seq", "schedule_type": "manual",
            "step_sync": [SUPERSCRIPT_TWO], "step_stop": ["fatal"]}  # fmt: skip

    response = admin.post("/sequences/new", form)

    assert response.status_code == 422
    assert "steps" in _errors(response.text)


def test_a_superscript_connection_id_to_test_is_no_connection(admin: Browser) -> None:
    response = admin.post("/sources/test", {"type": "duckdb", "id": SUPERSCRIPT_TWO})

    assert response.status_code == 200
    assert "There is no source" in html.unescape(response.text)


def test_superscript_ids_in_the_sync_form_s_helpers_choose_nothing(admin: Browser) -> None:
    fields = admin.get("/syncs/form/fields", params={"destination": SUPERSCRIPT_TWO, "object": "x"})
    columns = admin.get("/syncs/form/columns", params={"model": SUPERSCRIPT_TWO})

    assert fields.status_code == 200
    assert columns.status_code == 200


def test_an_unknown_schedule_type_is_refused_not_made_manual(
    admin: Browser, tmp_path: Path, web_catalog: Catalog
) -> None:
    sync_id = sync_made_in_forms(admin, tmp_path)
    edit = f"/syncs/{sync_id}/edit"
    form = {**form_as_shown(admin.get(edit).text, edit), "schedule_type": "interval"}
    form.update({"interval_quantity": "15", "interval_unit": "minute"})
    assert admin.post(edit, form).status_code == 303

    response = admin.post(edit, {**form, "schedule_type": "bogus"})

    assert response.status_code == 422
    assert "unknown schedule type 'bogus'" in _errors(response.text)["schedule"]
    with web_catalog.session(read_only=True) as session:
        assert session.syncs.get(sync_id).schedule is not None


def test_a_run_started_in_the_ui_is_recorded_as_triggered_by_the_ui(
    admin: Browser, tmp_path: Path, web_catalog: Catalog
) -> None:
    sync_id = sync_made_in_forms(admin, tmp_path)

    run_path = admin.post(f"/syncs/{sync_id}/trigger/run").headers["location"]

    with web_catalog.session(read_only=True) as session:
        assert session.runs.get(int(run_path.rsplit("/", 1)[1])).triggered_by == "ui"


def test_a_sequence_run_started_in_the_ui_is_recorded_as_triggered_by_the_ui(
    admin: Browser, tmp_path: Path, web_catalog: Catalog
) -> None:
    sync_id = sync_made_in_forms(admin, tmp_path)
    form = {"name": "Seq", "slug": "seq", "schedule_type": "manual",
            "step_sync": [str(sync_id)], "step_stop": ["fatal"]}  # fmt: skip
    assert admin.post("/sequences/new", form).status_code == 303

    assert admin.post("/sequences/seq/run").status_code == 303

    with web_catalog.session(read_only=True) as session:
        [run] = session.sequences.list_runs("seq")
    assert run.triggered_by == "ui"


def test_clear_and_fill_is_offered_only_where_the_destination_can_clear(
    admin: Browser, tmp_path: Path
) -> None:
    sync_id = sync_made_in_forms(admin, tmp_path)
    assert "/trigger/clear-and-fill" in admin.get(f"/syncs/{sync_id}").text

    hook = {"name": "Hook", "slug": "hook", "type": "webhook",
            "config.url": "http://127.0.0.1:9/hook"}  # fmt: skip
    assert admin.post("/destinations/new", hook).status_code == 303
    sync = {"slug": "users-hook", "model": "1", "destination": "2", "mode": "upsert",
            "object": "users", "map_from": ["email"], "map_to": ["email"],
            "schedule_type": "manual"}  # fmt: skip
    made = admin.post("/syncs/new", sync)
    assert made.status_code == 303, made.text

    page = admin.get(made.headers["location"]).text

    assert ">Run now<" in page
    assert "/trigger/clear-and-fill" not in page


def test_a_field_s_fix_reads_as_a_sentence_of_its_own(admin: Browser, tmp_path: Path) -> None:
    sync_id = sync_made_in_forms(admin, tmp_path)
    edit = f"/syncs/{sync_id}/edit"
    form = {**form_as_shown(admin.get(edit).text, edit), "schedule_type": "interval"}
    form.update({"interval_quantity": "0", "interval_unit": "minute"})

    response = admin.post(edit, form)

    assert response.status_code == 422
    assert (
        "is not a positive whole number. Write e.g. quantity: 15"
        in _errors(response.text)["schedule"]
    )
