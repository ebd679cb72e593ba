"""The values a 409 or 422 repeats: whole when short, cut short and marked when long."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from api_fixtures import Api, Pipeline, make_pipeline, model_body, sync_body

from syncline.api.errors import ECHO_LIMIT


def _source(**fields: Any) -> dict[str, Any]:
    return {"name": "a", "slug": "a", "type": "postgres", "configuration": {}, **fields}


def test_a_long_value_is_repeated_cut_short(api: Api) -> None:
    answer = api.post("/sources", json=_source(name="x" * 20_000))

    assert answer.status_code == 422
    problem = answer.json()["details"]["body.name"]
    assert problem["value"] == "x" * ECHO_LIMIT + "... (cut: 20000 characters in all)"


def test_a_long_array_is_repeated_as_the_start_of_its_json(api: Api) -> None:
    answer = api.post("/sources", json=_source(name=list(range(1000))))

    value = answer.json()["details"]["body.name"]["value"]
    assert value.startswith("[0, 1, 2, 3")
    assert value.endswith(" characters in all)")
    assert len(value) < ECHO_LIMIT + 50


def test_a_short_value_is_repeated_whole(api: Api) -> None:
    answer = api.post("/sources", json=_source(name=["a", "b"]))

    assert answer.json()["details"]["body.name"]["value"] == ["a", "b"]


# -- every problem repeats the value that was sent there --------------------------------------


@pytest.fixture
def pipeline(api: Api, tmp_path: Path) -> Pipeline:
    return make_pipeline(api, tmp_path)


def _sync_with(pipeline: Pipeline, schedule: Any) -> dict[str, Any]:
    body = sync_body(pipeline.model, pipeline.destination, slug="scheduled")
    return {**body, "schedule": schedule}


@pytest.mark.parametrize(
    ("schedule", "where", "sent"),
    [
        (
            {"type": "cron", "schedule": {"expression": "61 * * * *"}},
            "schedule.schedule.expression",
            "61 * * * *",
        ),
        (
            {"type": "visual", "schedule": {"expressions": [{"days": {"monday": True},
                                                             "time": "25:00"}]}},
            "schedule.schedule.expressions.0.time",
            "25:00",
        ),
        (
            {"type": "cron", "schedule": {"expression": "0 * * * *", "timezone": "Mars/Base"}},
            "schedule.schedule.timezone",
            "Mars/Base",
        ),
        (
            {"type": "interval", "schedule": {"interval": {"unit": "hour", "quantity": 0}}},
            "schedule.schedule.interval.quantity",
            0,
        ),
        ({"type": "weekly", "schedule": {}}, "schedule.type", "weekly"),
        (
            {"type": "visual", "schedule": {"expressions": [{"days": {"someday": True},
                                                             "time": "08:00"}]}},
            "schedule.schedule.expressions.0.days.someday",
            True,
        ),
    ],
)  # fmt: skip
def test_a_schedule_problem_repeats_the_value_sent(
    api: Api, pipeline: Pipeline, schedule: Any, where: str, sent: Any
) -> None:
    answer = api.post("/syncs", json=_sync_with(pipeline, schedule))

    assert answer.status_code == 422
    assert answer.json()["details"][f"body.{where}"]["value"] == sent


def test_a_schedule_problem_on_change_repeats_the_value_sent(api: Api, pipeline: Pipeline) -> None:
    schedule = {"type": "cron", "schedule": {"expression": "61 * * * *"}}
    answer = api.patch(f"/syncs/{pipeline.sync}", json={"schedule": schedule})

    assert answer.status_code == 422
    assert answer.json()["details"]["body.schedule.schedule.expression"]["value"] == "61 * * * *"


def test_empty_days_are_reported_as_empty_not_missing(api: Api, pipeline: Pipeline) -> None:
    schedule = {"type": "visual", "schedule": {"expressions": [{"days": {}, "time": "08:00"}]}}
    answer = api.post("/syncs", json=_sync_with(pipeline, schedule))

    problem = answer.json()["details"]["body.schedule.schedule.expressions.0.days"]
    assert "empty" in problem["message"]
    assert "missing" not in problem["message"]
    assert problem["value"] == {}


def test_days_that_are_all_false_are_refused_where_they_are_given(
    api: Api, pipeline: Pipeline
) -> None:
    days = dict.fromkeys(["monday", "tuesday", "wednesday", "thursday"], False)
    days |= dict.fromkeys(["friday", "saturday", "sunday"], False)
    schedule = {"type": "visual", "schedule": {"expressions": [{"days": days, "time": "08:30"}]}}
    answer = api.post("/syncs", json=_sync_with(pipeline, schedule))

    assert answer.status_code == 422
    problem = answer.json()["details"]["body.schedule.schedule.expressions.0.days"]
    assert "names no day with true" in problem["message"]
    assert problem["value"] == days


def test_missing_days_are_reported_as_missing_without_a_value(api: Api, pipeline: Pipeline) -> None:
    schedule = {"type": "visual", "schedule": {"expressions": [{"time": "08:00"}]}}
    answer = api.post("/syncs", json=_sync_with(pipeline, schedule))

    problem = answer.json()["details"]["body.schedule.schedule.expressions.0.days"]
    assert "missing" in problem["message"]
    assert problem["value"] is None


def test_a_long_schedule_value_is_repeated_cut_short(api: Api, pipeline: Pipeline) -> None:
    expression = "1," * 2000 + "61 * * * *"
    schedule = {"type": "cron", "schedule": {"expression": expression}}
    answer = api.post("/syncs", json=_sync_with(pipeline, schedule))

    value = answer.json()["details"]["body.schedule.schedule.expression"]["value"]
    assert value == expression[:ECHO_LIMIT] + f"... (cut: {len(expression)} characters in all)"


def test_a_table_the_source_refuses_is_repeated(api: Api, pipeline: Pipeline) -> None:
    body = model_body(pipeline.source, slug="t", queryType="table", table={"name": "no_such"})
    del body["raw"]
    answer = api.post("/models", json=body)

    assert answer.status_code == 422
    assert answer.json()["details"]["body.table.name"]["value"] == "no_such"


def test_a_blank_table_name_is_repeated(api: Api, pipeline: Pipeline) -> None:
    body = model_body(pipeline.source, slug="t", queryType="table", table={"name": "  "})
    del body["raw"]
    answer = api.post("/models", json=body)

    assert answer.status_code == 422
    assert answer.json()["details"]["body.table.name"]["value"] == "  "


def test_sql_the_source_refuses_is_repeated(api: Api, pipeline: Pipeline) -> None:
    answer = api.post("/models", json=model_body(pipeline.source, slug="r", raw={"sql": "selec"}))

    assert answer.status_code == 422
    assert answer.json()["details"]["body.raw.sql"]["value"] == "selec"


def test_a_table_sent_to_a_raw_sql_model_is_repeated(api: Api, pipeline: Pipeline) -> None:
    answer = api.patch(f"/models/{pipeline.model}", json={"table": {"name": "users"}})

    assert answer.status_code == 422
    assert answer.json()["details"]["body.table"]["value"] == {"name": "users"}


def test_an_empty_source_name_is_repeated(api: Api) -> None:
    answer = api.post("/sources", json=_source(name="   "))

    assert answer.status_code == 422
    assert answer.json()["details"]["body.name"]["value"] == "   "


def test_a_configuration_problem_repeats_a_value_that_is_not_text(
    api: Api, pipeline: Pipeline
) -> None:
    body = sync_body(pipeline.model, pipeline.destination, slug="extra")
    body["configuration"] = {**body["configuration"], "unknown": {"a": 1}}
    answer = api.post("/syncs", json=body)

    assert answer.status_code == 422
    assert answer.json()["details"]["body.configuration.unknown"]["value"] == {"a": 1}


def test_a_missing_configuration_key_has_no_value(api: Api, pipeline: Pipeline) -> None:
    body = sync_body(pipeline.model, pipeline.destination, slug="no-to")
    body["configuration"]["mappings"] = [{"type": "standard", "from": "email"}]
    answer = api.post("/syncs", json=body)

    assert answer.status_code == 422
    problem = answer.json()["details"]["body.configuration.mappings.0.standard.to"]
    assert problem["value"] is None


def test_a_404_repeats_a_long_slug_cut_short(api: Api) -> None:
    answer = api.post("/syncs/trigger", json={"syncSlug": "x" * 900_000})

    assert answer.status_code == 404
    details = answer.json()["details"]
    assert details == f"sync {'x' * ECHO_LIMIT}... (cut: 900000 characters in all) does not exist"
