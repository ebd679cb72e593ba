"""One validate pass reports problems of every layer a sync has, not the first layer's only."""

from __future__ import annotations

import pytest
from project_samples import VALID_SOURCES, WriteFiles

from syncline.errors import ValidationError
from syncline.project.loader import load_project

SYNCS = """
models:
  - slug: users
    source: wh
    primaryKey: id
    raw: {sql: "SELECT 1 AS id"}
destinations:
  - slug: crm
    type: pretend
    configuration: {host: localhost}
syncs:
  - slug: bad-schedule
    model: users
    destination: crm
    schedule: {type: interval, interval: {unit: fortnight, quantity: 1}}
    configuration:
      mode: upsert
      object: ../escape
      mappings: [{from: id, to: id}]
  - slug: bad-mode
    model: users
    destination: elsewhere
    configuration:
      mode: bogus
      object: people
      mappings: [{type: template, template: "{{ id ", to: a}]
"""


def test_a_broken_key_does_not_hide_the_other_problems_of_a_sync(
    write_project: WriteFiles,
) -> None:
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": SYNCS})

    with pytest.raises(ValidationError) as caught:
        load_project(root)

    where = {problem.location for problem in caught.value.problems}
    assert "syncs[0].configuration.object" in where, "the object, despite the bad schedule"
    assert "syncs[1].configuration.mode" in where
    assert "syncs[1].configuration.mappings[0].template" in where, "despite the bad mode"
    assert "syncs[1].destination" in where


def _locations_and_messages(root: object) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        load_project(root)  # type: ignore[arg-type]
    return [(p.location, p.message) for p in caught.value.problems]


def test_a_bad_mapping_does_not_hide_the_template_of_another(
    write_project: WriteFiles,
) -> None:
    syncs = SYNCS.replace(
        '[{type: template, template: "{{ id ", to: a}]',
        '[{type: statik, value: 1, to: b}, {type: template, template: "{{ oops ", to: a}]',
    ).replace("mode: bogus", "mode: upsert")
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": syncs})

    where = {location for location, _ in _locations_and_messages(root)}

    assert "syncs[1].configuration.mappings[0].type" in where or (
        "syncs[1].configuration.mappings[0]" in where
    )
    assert "syncs[1].configuration.mappings[1].template" in where


def test_a_second_declaration_of_a_slug_is_still_checked(write_project: WriteFiles) -> None:
    second = """
  - slug: bad-schedule
    model: users
    destination: crm
    schedule: {type: cron, schedule: {expression: '99 * * * *'}}
    configuration: {mode: insert, object: people, deleteBehavior: delete}
"""
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": SYNCS + second})

    found = _locations_and_messages(root)

    messages = [m for location, m in found if location.startswith("syncs[2]")]
    assert any("also declared" in m for m in messages)
    assert any("minute 99" in m for m in messages)
    assert any("deleteBehavior" in m for m in messages)


def test_a_bad_query_does_not_hide_a_bad_primary_key(write_project: WriteFiles) -> None:
    models = "models:\n  - slug: m\n    source: wh\n    primaryKey: [id]\n    raw: {sql: 5}\n"
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": models})

    where = {location for location, _ in _locations_and_messages(root)}

    assert {"models[0].raw", "models[0].primaryKey"} <= where


def test_a_cron_reports_the_problem_of_every_field(write_project: WriteFiles) -> None:
    schedule = "    schedule: {type: cron, schedule: {expression: '5-1 * * * 8'}}\n"
    syncs = SYNCS.replace(
        "    schedule: {type: interval, interval: {unit: fortnight, quantity: 1}}\n", schedule
    )
    root = write_project(**{"a.yml": VALID_SOURCES, "b.yml": syncs})

    messages = [m for location, m in _locations_and_messages(root) if "schedule" in location]

    assert any("day of week 8" in m for m in messages), messages
    assert any("runs backwards" in m for m in messages), messages
