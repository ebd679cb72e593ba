"""What pages say: schedules in plain words, times for the viewer's zone, durations, badges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from syncline.web.describe import mapping_words, removed_words, schedule_words
from syncline.web.render import badge, duration, time_element


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        (None, "manual: runs only when triggered"),
        ({"type": "interval", "schedule": {"interval": {"unit": "hour", "quantity": 1}}},
         "every hour"),
        ({"type": "interval", "schedule": {"interval": {"unit": "minute", "quantity": 15}}},
         "every 15 minutes"),
        ({"type": "cron", "schedule": {"expression": "0 6 * * 1"}}, "cron 0 6 * * 1 (UTC)"),
        ({"type": "visual", "schedule": {"expressions": [
            {"days": {"monday": True, "friday": True}, "time": "08:30"}]}},
         "Monday, Friday at 08:30 (UTC)"),
        ({"type": "cron", "schedule": {"expression": "30 6 * * 1", "timezone": "Europe/Berlin"}},
         "cron 30 6 * * 1 (Europe/Berlin)"),
        ({"type": "visual", "schedule": {"timezone": "America/New_York", "expressions": [
            {"days": {"monday": True}, "time": "08:30"},
            {"days": {"friday": True}, "time": "17:00"}]}},
         "Monday at 08:30; Friday at 17:00 (America/New_York)"),
        ({"type": "dbt", "schedule": {"account": {"id": "7"}, "job": {"id": "42"}}},
         "after each successful run of dbt Cloud job 42 (account 7)"),
    ],
)  # fmt: skip
def test_schedules_in_plain_words(schedule: dict[str, object] | None, words: str) -> None:
    assert schedule_words(schedule) == words


def test_mappings_in_plain_words() -> None:
    assert mapping_words({"from": "email", "to": "Email"}) == "column email → Email"
    assert mapping_words({"type": "variable", "variable": "sync-id", "to": "s"}) == (
        "the run's sync-id → s"
    )


def test_a_time_is_written_in_utc_for_the_browser_to_localise() -> None:
    berlin = timezone(timedelta(hours=1))
    shown = str(time_element(datetime(2026, 12, 4, 19, 5, 0, tzinfo=berlin)))
    assert shown == (
        '<time datetime="2026-12-04T18:05:00Z" title="2026-12-04 18:05:00 UTC">'
        "2026-12-04 18:05:00 UTC</time>"
    )
    assert "never" in str(time_element(None))


def test_durations_read_like_a_person_would_say_them() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert duration(start, start + timedelta(seconds=42)) == "42s"
    assert duration(start, start + timedelta(minutes=2, seconds=5)) == "2m 05s"
    assert duration(start, start + timedelta(hours=3, minutes=7)) == "3h 07m"
    assert duration(None, None) == "-"


def test_a_badge_escapes_its_text() -> None:
    assert str(badge("<b>")) == '<span class="badge badge-&lt;b&gt;">&lt;b&gt;</span>'


def test_an_htmx_request_without_a_session_is_told_to_go_to_sign_in(client: TestClient) -> None:
    response = client.get("/syncs/1/runs/1/live", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/login?next=/syncs/1/runs/1/live"


def test_removed_rows_are_described_as_the_mode_treats_them() -> None:
    assert removed_words({"mode": "mirror"}) == "deleted from the destination"
    assert removed_words({"mode": "insert"}) == "left in the destination"
    assert removed_words({"mode": "upsert"}) == "left in the destination"
    assert removed_words({"mode": "update", "deleteBehavior": "clear"}) == (
        "their mapped fields are cleared"
    )
