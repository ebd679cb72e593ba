"""The change-detection suites run on both planners, their test bodies unchanged.

Every test of the modules below runs on the local planner (once as it picks its join, once
forced onto its narrow join) and, through the engine
doubles' :class:`~engine_doubles.Harness`, on the in-warehouse planner over a DuckDB
file; the suites of :data:`POSTGRES_SUITES` run on PostgreSQL too. The variant travels
in the environment (see :mod:`warehouse_doubles`), so the subprocesses of the
kill-and-resume tests plan where their test does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from warehouse_doubles import DATABASE, PLANNER, SCHEMA

SUITES = {
    "test_diff",
    "test_external_id",
    "test_checkpoint",
    "test_in_doubt",
    "test_clear_and_fill",
    "test_resync_resume",
    "test_restart",
    "test_lost_object",
    "test_canonical",
    "test_canonical_special",
    "test_mapping",
    "test_prefilter",
    "test_property",
    "test_terminal_mid_run",
    "test_unanswered_mid_run",
}
"""Modules whose runs go through the Harness and so through either planner."""

POSTGRES_SUITES = {
    "test_diff",
    "test_external_id",
    "test_checkpoint",
    "test_in_doubt",
    "test_resync_resume",
    "test_restart",
    "test_lost_object",
    "test_canonical",
    "test_canonical_special",
    "test_terminal_mid_run",
    "test_unanswered_mid_run",
}
"""The suites also run on PostgreSQL; each of its tests loads the model over the network
and opens several sessions per run, so the rest stay on DuckDB to keep the suite fast."""

NARROW_SUITES = {"test_planner_states", "test_snapshot_file"}
"""Modules beside :data:`SUITES` whose harness runs also take the local planner's narrow
join: repeated keys and a snapshot file's own life."""

LOCAL_ONLY = {
    # These read or write the local planner's DuckDB snapshot file itself.
    "test_reset_cdc_sends_nothing_and_makes_a_new_baseline",
    "test_dry_run_reports_the_plan_and_commits_nothing",
    "test_delete_snapshot_forgets_everything",
    "test_dry_run_plans_rows_in_doubt_and_journals_nothing",
    "test_batch_that_failed_with_a_bug_stays_in_doubt",
    "test_batch_the_destination_refused_leaves_no_doubt",
    "test_snapshot_file_from_before_doubts_is_upgraded",
    # These read the prefilters of the local planner's snapshot file.
    "test_changes_are_found_run_after_run",
    "test_a_missing_prefilter_is_computed_and_remembered",
    "test_a_prefilter_made_under_another_signature_is_replaced",
    "test_prefilters_of_another_duckdb_release_are_forgotten",
    # These build their own run job on an Arrow source, which only the local planner reads.
    "test_source_failing_mid_read_fails_the_run_with_its_error",
    "test_retry_delay_honours_retry_after_and_grows",
}


NOT_ON_DUCKDB = {
    # A DuckDB table cannot hold two columns whose names differ only in case.
    "test_columns_differing_only_in_case_are_a_user_error",
    # Decimal text comes from PostgreSQL's unbounded NUMERIC; DuckDB holds it as VARCHAR.
    "test_decimal_text_noise_is_no_change",
    "test_decimal_text_change_is_a_change",
    "test_decimal_text_passes_its_logical_type_to_the_destination",
}

NOT_ON_POSTGRES = {
    # Arrow's extreme timestamps stand for infinity only in a model read from Arrow; loaded
    # into PostgreSQL they are real instants that no Arrow timestamp holds.
    "test_infinite_timestamp_is_distinct_from_null_and_other_values",
    "test_infinite_timestamp_and_date_are_stable",
}

KNOWN_GAPS: dict[str, str] = {}
"""Cases where the warehouse planner still sees representation noise as a change (none
now); strict xfails, so that closing a gap fails here until its entry goes."""


UNLOADABLE = {
    "[postgres-json text vs struct]": "PostgreSQL tables hold no Arrow struct",
    "[postgres-struct field]": "PostgreSQL tables hold no Arrow struct",
}
"""Cases whose model the test cannot load into the warehouse, so there is nothing to plan."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for suffix, reason in UNLOADABLE.items():
            if item.nodeid.endswith(suffix):
                item.add_marker(pytest.mark.skip(reason=reason))
        for suffix, reason in KNOWN_GAPS.items():
            if item.nodeid.endswith(suffix):
                item.add_marker(pytest.mark.xfail(reason=reason, strict=True))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "planner" not in metafunc.fixturenames:
        return
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    kinds: list[object] = ["local"]
    name = metafunc.function.__name__
    if module in SUITES or module in NARROW_SUITES:
        kinds.append("narrow")
    if module in SUITES and name not in LOCAL_ONLY:
        if name not in NOT_ON_DUCKDB:
            kinds.append("duckdb")
        if module in POSTGRES_SUITES and name not in NOT_ON_POSTGRES:
            kinds.append(pytest.param("postgres", marks=pytest.mark.postgres))
    metafunc.parametrize("planner", kinds, indirect=True)


@pytest.fixture(autouse=True)
def planner(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The planner this test's harness runs on: ``local``, ``narrow``, ``duckdb`` or
    ``postgres``."""
    kind = str(getattr(request, "param", "local"))
    monkeypatch.setenv(PLANNER, kind)
    if kind != "postgres":
        yield kind
        return
    url: str = request.getfixturevalue("postgres_database")
    database = url.rsplit("/", 1)[-1]
    prefix = f"t_{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv(DATABASE, database)
    monkeypatch.setenv(SCHEMA, prefix)
    try:
        yield kind
    finally:
        conninfo = f"host=127.0.0.1 port=5432 user=postgres dbname={database}"
        with psycopg.connect(conninfo, autocommit=True) as admin:
            for schema in (f"{prefix}_model", f"{prefix}_planner"):
                admin.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )
