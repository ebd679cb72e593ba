"""The sync form refuses a mapping of a column the model does not return, as the API does."""

from __future__ import annotations

from pathlib import Path

from test_web_pages import _set_up, admin  # noqa: F401 - the fixture is used by name
from web_fixtures import Browser


def test_the_sync_form_names_a_column_the_model_lacks(admin: Browser, tmp_path: Path) -> None:  # noqa: F811
    _set_up(admin, tmp_path)
    sync = {"slug": "second", "model": "1", "destination": "1", "mode": "upsert",
            "object": "others", "map_from": ["phone", ""], "map_to": ["phone", ""],
            "schedule_type": "manual"}  # fmt: skip

    response = admin.post("/syncs/new", sync)

    assert response.status_code == 422, response.text
    assert "&#39;phone&#39; is not in model &#39;users&#39;" in response.text
