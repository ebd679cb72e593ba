"""Field mappings: each type, the template sandbox, and per-row template failures."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pytest
from engine_doubles import Harness, MemoryDestination, people

from syncline.engine.config import SyncConfiguration
from syncline.engine.report import RunStatus
from syncline.engine.run import referenced_columns
from syncline.errors import ConfigError

BASE = [(1, "ann", 1.5), (2, "bob", None)]


def sync(mappings: Sequence[Mapping[str, object]], mode: str = "upsert") -> dict[str, object]:
    return {"mode": mode, "object": "people", "mappings": mappings}


def test_every_mapping_type(tmp_path: Path) -> None:
    mappings = [
        {"type": "standard", "from": "name", "to": "Name"},
        {"type": "static", "value": "crm", "to": "Origin"},
        {"type": "variable", "variable": "sync-id", "to": "SyncId"},
        {"type": "variable", "variable": "sync-run-id", "to": "RunId"},
        {"type": "variable", "variable": "row-operation", "to": "Op"},
        {"type": "template", "template": "{{ name | upper }}-{{ score }}", "to": "Label"},
    ]
    harness = Harness(tmp_path, people(BASE), sync(mappings))
    result = harness.run()
    assert result.status is RunStatus.SUCCESS, result.error
    assert harness.destination.records[1] == {
        "id": 1,
        "Name": "ann",
        "Origin": "crm",
        "SyncId": 7,
        "RunId": 1,
        "Op": "added",
        "Label": "ANN-1.5",
    }
    context = harness.destination.context
    assert context is not None
    assert [(f.name, str(f.arrow_type)) for f in context.fields] == [
        ("id", "int64"),
        ("Name", "string"),
        ("Origin", "string"),
        ("SyncId", "int64"),
        ("RunId", "int64"),
        ("Op", "string"),
        ("Label", "string"),
    ]

    harness.table = people([(1, "ann", 2.5), (2, "bob", None)])
    harness.run()
    assert harness.destination.records[1]["Op"] == "changed"
    assert harness.destination.records[1]["RunId"] == 2
    assert harness.destination.records[1]["Label"] == "ANN-2.5"


def test_referenced_columns() -> None:
    configuration = SyncConfiguration.parse(
        sync(
            [
                {"type": "standard", "from": "name", "to": "Name"},
                {
                    "type": "template",
                    "template": "{% for x in tags %}{{ x }}{{ sep }}{% endfor %}",
                    "to": "T",
                },
                {"type": "static", "value": 1, "to": "S"},
            ]
        )
        | {"externalIdMapping": {"from": "email", "to": "Email"}}
    )
    assert referenced_columns(configuration, "id") == ["id", "name", "sep", "tags", "email"]
    everything = SyncConfiguration.parse({"mode": "upsert", "object": "o"})
    assert referenced_columns(everything, "id", ["id", "a", "b"]) == ["id", "a", "b"]


def test_only_referenced_columns_are_sent_and_compared(tmp_path: Path) -> None:
    mappings = [{"type": "template", "template": "{{ name }}!", "to": "Shout"}]
    harness = Harness(tmp_path, people(BASE), sync(mappings))
    harness.run()
    assert harness.destination.records[1] == {"id": 1, "Shout": "ann!"}
    harness.table = people([(1, "ann", 99.0), (2, "BOB", None)])
    result = harness.run()
    assert result.progress.planned.changed == 1
    assert harness.destination.records[2] == {"id": 2, "Shout": "BOB!"}


@pytest.mark.parametrize(
    "template",
    [
        "{{ name.__class__.__mro__ }}",
        "{{ name.__class__.__base__.__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
    ],
)
def test_template_sandbox_refuses_internals(tmp_path: Path, template: str) -> None:
    harness = Harness(
        tmp_path, people(BASE), sync([{"type": "template", "template": template, "to": "X"}])
    )
    result = harness.run()
    assert result.status is RunStatus.WARNING
    assert result.progress.failed.added == 2
    assert harness.destination.records == {}
    reasons = {row.reason for row in harness.reporter.rejected_rows}
    assert all("template of field 'X' failed" in reason for reason in reasons)
    assert all("is unsafe" in reason for reason in reasons)


def test_template_error_rejects_one_row_not_the_run(tmp_path: Path) -> None:
    mappings = [{"type": "template", "template": "{{ 10 / score }}", "to": "Ratio"}]
    harness = Harness(
        tmp_path, people([(1, "ann", 2.0), (2, "bob", 0.0), (3, "cy", 5.0)]), sync(mappings)
    )
    result = harness.run()
    assert result.status is RunStatus.WARNING
    assert result.progress.successful.added == 2
    [rejected] = harness.reporter.rejected_rows
    assert rejected.key == "2"
    assert "division by zero" in rejected.reason
    assert sorted(harness.destination.records) == [1, 3]
    assert harness.destination.records[3]["Ratio"] == "2.0"

    # The rejected row is retried next run, and succeeds once its data is fixed.
    harness.table = people([(1, "ann", 2.0), (2, "bob", 4.0), (3, "cy", 5.0)])
    fixed = harness.run()
    assert fixed.status is RunStatus.SUCCESS
    assert harness.destination.records[2]["Ratio"] == "2.5"


def test_invalid_template_fails_the_run_naming_the_field(tmp_path: Path) -> None:
    mappings = [{"type": "template", "template": "{{ name ", "to": "Broken"}]
    harness = Harness(tmp_path, people(BASE), sync(mappings))
    result = harness.run()
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert "'Broken'" in result.error
    assert harness.reporter.stages == []  # refused before the model was queried


def test_mapping_that_overwrites_the_id_field_is_refused(tmp_path: Path) -> None:
    mappings = [{"type": "standard", "from": "name", "to": "id"}]
    result = Harness(tmp_path, people(BASE), sync(mappings)).run()
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert "'id' identifies destination records" in result.error


def test_clear_sends_id_with_nulls_and_payload_is_as_sent(tmp_path: Path) -> None:
    mappings = [{"type": "standard", "from": "name", "to": "Name"}]
    configuration = sync(mappings) | {"deleteBehavior": "clear"}
    harness = Harness(tmp_path, people(BASE), configuration)
    harness.run()
    harness.table = people(BASE[:1])
    harness.destination.reject = lambda action, row: "frozen"
    result = harness.run()
    assert result.progress.failed.removed == 1
    [rejected] = harness.reporter.rejected_rows
    assert rejected.payload is not None
    assert json.loads(rejected.payload) == {"id": 2, "Name": None}


def test_null_external_id_is_a_rejected_row(tmp_path: Path) -> None:
    schema = pa.schema([("id", pa.int64()), ("email", pa.string())])
    table = pa.Table.from_pylist(
        [{"id": 1, "email": "a@x"}, {"id": 2, "email": None}], schema=schema
    )
    configuration = {
        "mode": "upsert",
        "object": "contacts",
        "externalIdMapping": {"from": "email", "to": "Email"},
    }
    harness = Harness(tmp_path, table, configuration)
    result = harness.run()
    assert result.status is RunStatus.WARNING
    [rejected] = harness.reporter.rejected_rows
    assert rejected.key == "2"
    assert "NULL_EXTERNAL_ID" in rejected.reason
    assert list(harness.destination.records) == ["a@x"]


def test_mapper_rejects_bad_configuration_early() -> None:
    with pytest.raises(ConfigError, match="'T'"):
        referenced_columns(
            SyncConfiguration.parse(
                sync([{"type": "template", "template": "{% if %}", "to": "T"}])
            ),
            "id",
        )


def test_changed_mapping_resends_every_row(tmp_path: Path) -> None:
    mappings: list[dict[str, object]] = [{"type": "standard", "from": "name", "to": "Name"}]
    harness = Harness(tmp_path, people(BASE), sync(mappings))
    harness.run()
    assert harness.run().progress.planned.total == 0

    harness.configuration = sync([{"type": "standard", "from": "name", "to": "FullName"}])
    result = harness.run()
    assert result.progress.planned.changed == 2
    assert harness.destination.records[2] == {"id": 2, "Name": "bob", "FullName": "bob"}


def test_a_decimal_error_in_a_template_is_rejected_with_a_readable_reason() -> None:
    import decimal

    from syncline.engine.mapping import _reason

    with pytest.raises(decimal.DivisionByZero) as caught:
        decimal.Decimal(1) / decimal.Decimal(0)

    assert _reason(caught.value) == "division by zero"


def test_the_payload_of_a_rejected_row_holds_years_python_cannot() -> None:
    from syncline.engine.mapping import record_payload

    year_10000 = 253_402_300_800_000_000  # microseconds since 1970 at 10000-01-01
    records = pa.table(
        {
            "id": [2],
            "day": pa.array([2_932_897], pa.date32()),
            "at": pa.array([year_10000], pa.timestamp("us")),
        }
    )

    payload = json.loads(record_payload(records, 0))

    assert payload == {"id": 2, "day": "10000-01-01", "at": "10000-01-01 00:00:00.000000"}


def test_a_null_column_is_empty_in_a_template_and_default_replaces_it(tmp_path: Path) -> None:
    mappings = [
        {"type": "template", "template": "{{ score | upper }}|{{ score }}", "to": "Label"},
        {"type": "template", "template": "{{ score | default('none given') }}", "to": "Given"},
        {"type": "template", "template": "{% if score %}yes{% else %}no{% endif %}", "to": "Has"},
    ]
    harness = Harness(tmp_path, people(BASE), sync(mappings))

    result = harness.run()

    assert result.status is RunStatus.SUCCESS, result.error
    bob = harness.destination.records[2]
    assert (bob["Label"], bob["Given"], bob["Has"]) == ("|", "none given", "no")
    ann = harness.destination.records[1]
    assert (ann["Label"], ann["Given"], ann["Has"]) == ("1.5|1.5", "1.5", "yes")


def test_arithmetic_on_a_null_column_rejects_the_row_naming_it(tmp_path: Path) -> None:
    mappings = [{"type": "template", "template": "{{ score * 2 }}", "to": "Double"}]
    harness = Harness(tmp_path, people(BASE), sync(mappings))

    result = harness.run()

    assert result.status is RunStatus.WARNING
    [rejected] = harness.reporter.rejected_rows
    assert rejected.key == "2"
    assert "'score' is NULL" in rejected.reason
    assert harness.destination.records[1]["Double"] == "3.0"


def test_a_date_python_cannot_hold_rejects_its_row_naming_the_field(tmp_path: Path) -> None:
    days = [18_262, -755_687, 2**31 - 1, 2_932_897]  # 2020, 100 BC, infinity, year 10000
    schema = pa.schema([("id", pa.int64()), ("d", pa.date32())])
    table = pa.table({"id": [1, 2, 3, 4], "d": pa.array(days, pa.date32())}, schema=schema)
    mappings = [{"type": "template", "template": "{{ d }}", "to": "dtxt"}]
    harness = Harness(tmp_path, table, sync(mappings, mode="mirror"))

    result = harness.run()

    assert result.status is RunStatus.WARNING, result.error
    assert harness.destination.records[1]["dtxt"] == "2020-01-01"
    assert sorted(harness.destination.records) == [1]
    rejected = sorted(harness.reporter.rejected_rows, key=lambda row: row.key)
    assert [row.key for row in rejected] == ["2", "3", "4"]
    for row in rejected:
        assert "template of field 'dtxt'" in row.reason
        assert "column 'd' holds a date or time a template cannot read" in row.reason


def test_a_far_timestamp_rejects_only_the_rows_whose_template_reads_it(tmp_path: Path) -> None:
    year_10000 = 253_402_300_800_000_000  # microseconds since 1970 at 10000-01-01
    table = pa.table(
        {
            "id": pa.array([1, 2], pa.int64()),
            "at": pa.array([0, year_10000], pa.timestamp("us")),
            "name": ["ann", "bob"],
        }
    )
    mappings = [
        {"type": "template", "template": "{{ name }}", "to": "Name"},
        {"type": "template", "template": "{{ at.year }}", "to": "Year"},
    ]
    harness = Harness(tmp_path, table, sync(mappings))

    result = harness.run()

    assert result.status is RunStatus.WARNING, result.error
    assert harness.destination.records[1] == {"id": 1, "Name": "ann", "Year": "1970"}
    [rejected] = harness.reporter.rejected_rows
    assert rejected.key == "2"
    assert "template of field 'Year'" in rejected.reason


def test_an_unknown_filter_is_a_configuration_error_naming_the_field(tmp_path: Path) -> None:
    configuration = sync([{"type": "template", "template": "{{ name | nosuch }}", "to": "T"}])

    with pytest.raises(ConfigError, match="'T'.*No filter named 'nosuch'"):
        referenced_columns(SyncConfiguration.parse(configuration), "id")
    result = Harness(tmp_path, people(BASE), configuration).run()
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert "No filter named 'nosuch'" in result.error
    assert "internal error" not in result.error


def test_an_unknown_test_inside_a_condition_fails_the_run_before_any_row(tmp_path: Path) -> None:
    template = "{% if name is nosuchtest %}y{% endif %}"
    configuration = sync([{"type": "template", "template": template, "to": "T"}])

    result = Harness(tmp_path, people(BASE), configuration).run()

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert "test 'nosuchtest'" in result.error


def test_fields_a_destination_would_fold_into_one_fail_the_run_before_writing(
    tmp_path: Path,
) -> None:
    class FoldingDestination(MemoryDestination):
        folds_field_case = True

    mappings = [{"from": "name", "to": "Name"}, {"from": "score", "to": "NAME"}]
    harness = Harness(tmp_path, people(BASE), sync(mappings), destination=FoldingDestination())

    result = harness.run()

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert "fields 'Name' and 'NAME' differ only in letter case" in result.error
    assert "rename one of them" in result.error
    assert harness.destination.records == {}
