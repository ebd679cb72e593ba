"""Validation refuses the cron expressions the scheduler could not run."""

from __future__ import annotations

import pytest

from syncline.project.schedule import DAYS, check_schedule


@pytest.mark.parametrize(
    ("expression", "said"),
    [
        ("*/0 * * * *", "step that is not a positive number"),
        ("0 0 * foo *", "month 'foo' is not a known value"),
        ("0 0 5-1 * *", "range that runs backwards"),
        ("0 0 30 2 *", "names a date that never comes"),
    ],
)
def test_an_expression_the_scheduler_cannot_run_is_a_problem(expression: str, said: str) -> None:
    schedule, problems = check_schedule({"type": "cron", "schedule": {"expression": expression}})
    assert schedule is None
    assert [path for path, _, _ in problems] == [("schedule", "expression")]
    assert said in problems[0][1]


@pytest.mark.parametrize("expression", ["30 6 * * mon-fri", "0 12 29 2 *", "*/15 * 13 * 5"])
def test_expressions_the_scheduler_runs_pass(expression: str) -> None:
    schedule, problems = check_schedule({"type": "cron", "schedule": {"expression": expression}})
    assert problems == []
    assert schedule == {"type": "cron", "schedule": {"expression": expression}}


@pytest.mark.parametrize(
    ("unit", "quantity"), [("minute", 10**11), ("week", 522), ("day", 3654), ("hour", 87673)]
)
def test_an_interval_longer_than_ten_years_is_refused(unit: str, quantity: int) -> None:
    schedule = {"type": "interval", "schedule": {"interval": {"unit": unit, "quantity": quantity}}}
    normalised, problems = check_schedule(schedule)
    assert normalised is None
    [(path, message, fix)] = problems
    assert path == ("schedule", "interval", "quantity")
    assert "longer than ten years" in message


@pytest.mark.parametrize(("unit", "quantity"), [("week", 521), ("day", 3653)])
def test_an_interval_of_up_to_ten_years_is_accepted(unit: str, quantity: int) -> None:
    schedule = {"type": "interval", "schedule": {"interval": {"unit": unit, "quantity": quantity}}}
    normalised, problems = check_schedule(schedule)
    assert problems == []
    assert normalised == schedule


def test_a_visual_schedule_whose_days_are_all_false_is_refused_like_empty_days() -> None:
    days = dict.fromkeys(DAYS, False)
    body = {"expressions": [{"days": days, "time": "08:30"}]}
    schedule, problems = check_schedule({"type": "visual", "schedule": body})

    assert schedule is None
    [(path, message, fix)] = problems
    assert path == ("schedule", "expressions", 0, "days")
    assert "'days' names no day with true" in message
    assert "monday: true" in fix


def test_a_visual_day_that_is_not_a_boolean_is_refused() -> None:
    body = {"expressions": [{"days": {"monday": "no", "friday": True}, "time": "08:30"}]}
    schedule, problems = check_schedule({"type": "visual", "schedule": body})

    assert schedule is None
    [(path, message, _)] = problems
    assert path == ("schedule", "expressions", 0, "days", "monday")
    assert "expected true or false" in message


@pytest.mark.parametrize(
    ("account", "job", "where"),
    [
        ("", "42", "account"),
        ("7", "  ", "job"),
        ("7", "job-42", "job"),
        (0, "42", "account"),
    ],
)
def test_a_dbt_cloud_id_that_is_not_a_positive_number_is_refused(
    account: object, job: object, where: str
) -> None:
    body = {"account": {"id": account}, "job": {"id": job}}
    schedule, problems = check_schedule({"type": "dbt", "schedule": body})

    assert schedule is None
    [(path, message, fix)] = problems
    assert path == ("schedule", where, "id")
    assert f"'{where}.id'" in message
    assert "dbt Cloud" in fix


@pytest.mark.parametrize(("account", "job"), [("7", "42"), (7, 42)])
def test_dbt_cloud_ids_as_numbers_or_digit_strings_pass(account: object, job: object) -> None:
    body = {"account": {"id": account}, "job": {"id": job}}
    assert check_schedule({"type": "dbt", "schedule": body}) == (
        {"type": "dbt", "schedule": body},
        [],
    )


@pytest.mark.parametrize(
    ("shorthand", "fields"),
    [("@daily", "0 0 * * *"), ("@hourly", "0 * * * *"), ("@weekly", "0 0 * * 0"),
     ("@monthly", "0 0 1 * *"), ("@yearly", "0 0 1 1 *")],
)  # fmt: skip
def test_a_cron_shorthand_is_refused_with_its_five_fields(shorthand: str, fields: str) -> None:
    schedule, problems = check_schedule({"type": "cron", "schedule": {"expression": shorthand}})
    assert schedule is None
    [(_, message, fix)] = problems
    assert "shorthand" in message
    assert f"write '{fields}'" in fix
    assert check_schedule({"type": "cron", "schedule": {"expression": fields}})[1] == []


def test_a_quantity_in_quotes_is_said_to_be_text_not_a_number() -> None:
    schedule = {"type": "interval", "schedule": {"interval": {"unit": "minute", "quantity": "15"}}}
    _, [(_, message, fix)] = check_schedule(schedule)
    assert message == "the interval quantity must be a number, not the text '15'"
    assert fix == "write it without quotes: quantity: 15"
