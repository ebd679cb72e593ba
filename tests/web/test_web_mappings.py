"""The sync form's mapping editor: every kind of mapping made, shown, changed and refused
row by row, and the destination object's fields offered beside the model's columns."""

from __future__ import annotations

import html
import re
import sqlite3
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from web_fixtures import ADMIN, Browser, make_user, signed_in

from syncline.catalog import Catalog

ROW = ("map_type", "map_from", "map_value", "map_value_as", "map_variable", "map_template",
       "map_to")  # fmt: skip


@pytest.fixture
def admin(client: TestClient) -> Browser:
    """The admin, signed in."""
    return signed_in(client, ADMIN)


@pytest.fixture
def mart(tmp_path: Path) -> Path:
    """An SQLite destination file whose ``customers`` table exists already."""
    (tmp_path / "files").mkdir(exist_ok=True)
    path = tmp_path / "files" / "mart.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, mail TEXT, origin TEXT)")
    return path


def _set_up(admin: Browser, tmp_path: Path, mart: Path) -> None:
    """A DuckDB source with ``users``, a model of it, and the SQLite destination ``mart``."""
    warehouse = tmp_path / "files" / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("CREATE TABLE users AS SELECT 1 AS id, 'a@example.com' AS email")
    source = {"name": "Warehouse", "slug": "wh", "type": "duckdb", "config.path": str(warehouse)}
    assert admin.post("/sources/new", source).status_code == 303
    model = {"name": "Users", "slug": "users", "source": "1",
             "sql": "select id, email from users", "primary_key": "id"}  # fmt: skip
    assert admin.post("/models/new", model).status_code == 303
    destination = {"name": "Mart", "slug": "mart", "type": "sqlite", "config.path": str(mart)}
    assert admin.post("/destinations/new", destination).status_code == 303


def _rows(*rows: tuple[str, ...]) -> dict[str, list[str]]:
    """Form fields for ``rows``, each given as the seven inputs of :data:`ROW` in order."""
    return {name: [row[i] for row in rows] for i, name in enumerate(ROW)}


FOUR_KINDS = _rows(
    ("standard", "email", "", "text", "sync-id", "", "mail"),
    ("static", "", "crm", "text", "sync-id", "", "origin"),
    ("static", "", "5", "json", "sync-id", "", "weight"),
    ("variable", "", "", "text", "row-operation", "", "operation"),
    ("template", "", "", "text", "sync-id", "{{ email | upper }}", "shout"),
    ("standard", "", "", "text", "sync-id", "", ""),
)
"""One row of each kind (static as text and as JSON), and a blank row the form ignores."""

STORED = [
    {"type": "standard", "from": "email", "to": "mail"},
    {"type": "static", "value": "crm", "to": "origin"},
    {"type": "static", "value": 5, "to": "weight"},
    {"type": "variable", "variable": "row-operation", "to": "operation"},
    {"type": "template", "template": "{{ email | upper }}", "to": "shout"},
]


def _sync_form(**fields: Any) -> dict[str, Any]:
    return {"slug": "users-mart", "model": "1", "destination": "1", "mode": "upsert",
            "object": "customers", "schedule_type": "manual", **fields}  # fmt: skip


def _stored(catalog: Catalog) -> list[dict[str, Any]]:
    with catalog.session(read_only=True) as session:
        return list(session.syncs.get(1).configuration["mappings"])


def _errors(page: str) -> dict[str, str]:
    found = re.findall(r'<p class="field-error" id="([\w-]+)-error">([^<]+)</p>', page)
    return {key: html.unescape(message) for key, message in found}


def test_every_kind_of_mapping_is_made_from_the_form(
    admin: Browser, tmp_path: Path, mart: Path, web_catalog: Catalog
) -> None:
    _set_up(admin, tmp_path, mart)

    response = admin.post("/syncs/new", _sync_form(**FOUR_KINDS))

    assert response.status_code == 303, response.text
    assert _stored(web_catalog) == STORED


def test_editing_shows_each_kind_and_saves_it_changed_or_removed(
    admin: Browser, tmp_path: Path, mart: Path, web_catalog: Catalog
) -> None:
    _set_up(admin, tmp_path, mart)
    assert admin.post("/syncs/new", _sync_form(**FOUR_KINDS)).status_code == 303

    form = admin.get("/syncs/1/edit").text
    assert '<option value="static" selected>' in form
    assert '<option value="json" selected>' in form
    assert '<option value="row-operation" selected>' in form
    assert 'name="map_template" class="template" value="{{ email | upper }}"' in form
    assert 'name="map_value" value="crm"' in form

    # The static text becomes a variable, the template changes, the JSON row is removed.
    changed = _rows(
        ("standard", "email", "", "text", "sync-id", "", "mail"),
        ("variable", "", "crm", "text", "sync-run-id", "", "origin"),
        ("variable", "", "", "text", "row-operation", "", "operation"),
        ("template", "", "", "text", "sync-id", "{{ id }}-{{ email }}", "shout"),
    )
    response = admin.post("/syncs/1/edit", _sync_form(**changed))

    assert response.status_code == 303, response.text
    assert _stored(web_catalog) == [
        STORED[0],
        {"type": "variable", "variable": "sync-run-id", "to": "origin"},
        STORED[3],
        {"type": "template", "template": "{{ id }}-{{ email }}", "to": "shout"},
    ]


def test_each_mapping_problem_is_shown_on_its_row_and_nothing_is_saved(
    admin: Browser, tmp_path: Path, mart: Path, web_catalog: Catalog
) -> None:
    _set_up(admin, tmp_path, mart)
    bad = _rows(
        ("standard", "", "", "text", "sync-id", "", ""),
        ("static", "", "crm", "text", "sync-id", "", ""),
        ("static", "", "{oops", "json", "sync-id", "", "weight"),
        ("template", "", "", "text", "sync-id", "{{ email }}", "shout"),
        ("variable", "", "", "text", "sync-id", "", "mail"),
        ("standard", "email", "", "text", "sync-id", "", "mail"),
    )

    response = admin.post("/syncs/new", _sync_form(**bad))

    assert response.status_code == 422
    errors = _errors(response.text)
    assert "'to' must not be empty" in errors["mapping-1-to"]
    assert "'{oops' is not JSON" in errors["mapping-2-value"]
    assert not any(key.startswith("mapping-0") for key in errors)  # the blank row
    assert "each problem is shown on its row" in errors["mappings"]
    assert "object" not in errors
    # What was typed is kept, so it can be corrected rather than typed again.
    assert 'name="map_value" value="{oops"' in response.text
    with web_catalog.session(read_only=True) as session:
        assert session.syncs.list() == []


def test_a_field_written_twice_is_shown_on_both_rows(
    admin: Browser, tmp_path: Path, mart: Path
) -> None:
    _set_up(admin, tmp_path, mart)
    twice = _rows(
        ("variable", "", "", "text", "sync-id", "", "mail"),
        ("standard", "id", "", "text", "sync-id", "", "id"),
        ("standard", "email", "", "text", "sync-id", "", "mail"),
    )

    response = admin.post("/syncs/new", _sync_form(**twice))

    assert response.status_code == 422
    errors = _errors(response.text)
    assert "two mappings write the field 'mail'" in errors["mapping-0-to"]
    assert "two mappings write the field 'mail'" in errors["mapping-2-to"]
    assert "mapping-1-to" not in errors
    assert "object" not in errors


def test_a_bad_template_or_variable_is_refused_beside_its_input(
    admin: Browser, tmp_path: Path, mart: Path
) -> None:
    # Templates are compiled once the rest of the configuration is valid, as in the API.
    _set_up(admin, tmp_path, mart)
    template = _rows(("template", "", "", "text", "sync-id", "{{ email", "shout"))
    forged = _rows(("variable", "", "", "text", "run-time", "", "when"))

    first = admin.post("/syncs/new", _sync_form(**template))
    second = admin.post("/syncs/new", _sync_form(**forged))

    assert first.status_code == second.status_code == 422
    problem = _errors(first.text)["mapping-0-template"]
    assert "the template of field 'shout' is not valid" in problem
    problem = _errors(second.text)["mapping-0-variable"]
    assert "'sync-id', 'sync-run-id' or 'row-operation'" in problem


def test_choosing_a_kind_redraws_the_row_and_keeps_what_was_typed(admin: Browser) -> None:
    params = {"map_type": "template", "map_from": "email", "map_to": "shout",
              "map_template": "{{ email }}"}  # fmt: skip

    row = admin.get("/syncs/form/mapping-row", params=params).text

    assert '<input name="map_template" class="template" value="{{ email }}"' in row
    assert '<input type="hidden" name="map_from" value="email">' in row
    assert 'name="map_to" list="destination-fields" value="shout"' in row
    for name in ROW:
        assert row.count(f'name="{name}"') == 1, name


def test_the_form_offers_the_destination_object_s_fields(
    admin: Browser, tmp_path: Path, mart: Path
) -> None:
    _set_up(admin, tmp_path, mart)
    form = admin.get("/syncs/new").text
    assert 'hx-get="/syncs/form/fields"' in form
    assert 'hx-include="#f-destination, #f-object"' in form

    listed = admin.get("/syncs/form/fields", params={"destination": "1", "object": "customers"})
    assert re.findall(r'<option value="(\w+)">', listed.text) == ["id", "mail", "origin"]
    assert "Fields of customers: id (INTEGER), mail (TEXT), origin (TEXT)" in listed.text

    later = admin.get("/syncs/form/fields", params={"destination": "1", "object": "orders"})
    assert "<option" not in later.text
    assert "the first run creates it" in later.text


def test_the_edit_form_asks_for_the_sync_s_own_destination_fields(
    admin: Browser, tmp_path: Path, mart: Path
) -> None:
    _set_up(admin, tmp_path, mart)
    assert admin.post("/syncs/new", _sync_form(**FOUR_KINDS)).status_code == 303

    form = admin.get("/syncs/1/edit").text

    assert 'hx-get="/syncs/form/fields?destination=1"' in form


def test_another_workspace_s_destination_fields_are_not_shown(
    client: TestClient, admin: Browser, tmp_path: Path, mart: Path, web_catalog: Catalog
) -> None:
    _set_up(admin, tmp_path, mart)
    with web_catalog.session() as session:
        session.workspaces.create("other")
    make_user(web_catalog, "other@example.com", "admin", workspace="other")
    admin.post("/logout")
    other = signed_in(client, "other@example.com")

    answer = other.get("/syncs/form/fields", params={"destination": "1", "object": "customers"})

    assert "<option" not in answer.text
    assert "could not be read: destination 1 does not exist" in html.unescape(answer.text)


def test_an_unreadable_destination_is_said_and_names_stay_free(
    admin: Browser, tmp_path: Path
) -> None:
    (tmp_path / "files").mkdir(exist_ok=True)
    broken = tmp_path / "files" / "broken.sqlite"
    broken.write_bytes(b"not an SQLite database at all " * 40)
    _set_up(admin, tmp_path, broken)

    answer = admin.get("/syncs/form/fields", params={"destination": "1", "object": "customers"})

    assert "could not be read" in answer.text
    assert "Any field name can still be typed" in answer.text
