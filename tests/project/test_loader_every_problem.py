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
