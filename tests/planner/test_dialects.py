"""The planner's statements render for every warehouse dialect and parse back in it.

Only PostgreSQL and DuckDB run them (see the engine suites); for the other warehouses
the statements sqlglot generates are parsed again in their own dialect, so that a
statement a warehouse could not even read is caught here.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
import sqlglot
from sqlglot import exp

from syncline.connectors.sources.base import decimal_field, json_field
from syncline.engine.planner.warehouse import check_single_query
from syncline.engine.planner.warehouse.sql import DIALECTS, MODEL, PlannerSQL
from syncline.errors import UserError

FIELDS = [
    pa.field("id", pa.int64()),
    pa.field("name", pa.string()),
    pa.field("score", pa.float64()),
    pa.field("amount", pa.decimal128(12, 2)),
    decimal_field("wide"),
    pa.field("at", pa.timestamp("us", tz="UTC")),
    pa.field("day", pa.date32()),
    pa.field("flag", pa.bool_()),
    pa.field("blob", pa.binary()),
    json_field("doc"),
    pa.field("odd name", pa.string()),
]

NAMES = [field.name for field in FIELDS]


def statements(dialect: str) -> list[tuple[str, type[exp.Expression]]]:
    """Every statement the planner makes, with the kind of statement it must parse to."""
    sql = PlannerSQL(dialect, "syncline_planner", 42)
    made: list[tuple[str, type[exp.Expression]]] = [(sql.create_schema(), exp.Create)]
    made += [(s, exp.Create) for s in sql.create_tables()]
    made += [(s, exp.Drop) for s in sql.drop_tables()]
    loads = sql.load_current(
        "SELECT * FROM model;", FIELDS, primary_key="id", id_column="name", salt='{"mappings":[]}'
    )
    # PostgreSQL creates its temporary table empty, then fills it by an INSERT.
    made += [(s, exp.Insert if s.startswith("INSERT") else exp.Create) for s in loads]
    made += [
        (sql.count_null_keys(), exp.Select),
        (sql.repeated_keys(5), exp.Select),
        (sql.count_repeated_keys(), exp.Select),
        (sql.make_plan(NAMES, every_row=False, full_resync=False), exp.Create),
        (sql.make_plan(NAMES, every_row=True, full_resync=False), exp.Create),
        (sql.make_plan(NAMES, every_row=False, full_resync=True), exp.Create),
        (sql.make_plan(NAMES, every_row=False, full_resync=False, snapshot_empty=True), exp.Create),
        (sql.take_over_removed(), exp.Update),
        (sql.plan_holders(NAMES), exp.Insert),
        (sql.distrust_holders(), exp.Update),
        (sql.plan_counts(), exp.Select),
        (sql.planned_rows(NAMES, "changed", None), exp.Select),
        (sql.planned_rows(NAMES, "added", True), exp.Select),
        (sql.snapshot_size(), exp.Select),
        (sql.journal_size(), exp.Select),
        (sql.withdraw(["1", "it's"]), exp.Delete),
        (sql.record_unsent("removed"), exp.Insert),
        (sql.record_unsent("taken over", "removed"), exp.Insert),
        (sql.failed_rows(), exp.Select),
    ]
    made += [(s, type(sqlglot.parse_one(s, read=dialect))) for s in sql.merge()]
    made += [(s, type(sqlglot.parse_one(s, read=dialect))) for s in sql.replace_baseline()]
    made += [(s, exp.Delete) for s in sql.forget_absent(snapshot=True)]
    return made


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_statement_parses_in_its_dialect(dialect: str) -> None:
    made = statements(dialect)
    assert len(made) > 25
    for statement, kind in made:
        parsed = sqlglot.parse(statement, read=dialect)
        assert len(parsed) == 1, statement
        assert isinstance(parsed[0], kind), statement
        assert MODEL not in statement


@pytest.mark.parametrize("dialect", DIALECTS)
def test_model_runs_as_a_subquery_and_every_column_is_compared(dialect: str) -> None:
    sql = PlannerSQL(dialect, "syncline_planner", 42)
    statement = sql.load_current(
        "SELECT * FROM model -- trailing comment\n;",
        FIELDS,
        primary_key="id",
        id_column="id",
        salt="",
    )[-1]
    create = sqlglot.parse_one(statement, read=dialect)
    select = create.expression
    assert isinstance(select, exp.Select)
    source = select.args["from_"].this
    assert isinstance(source, exp.Subquery)
    # The trailing comment ends before the closing parenthesis: the model stays whole.
    assert source.this.sql(dialect=dialect, comments=False) == sqlglot.parse_one(
        "SELECT * FROM model", read=dialect
    ).sql(dialect=dialect)
    aliases = [projection.alias_or_name for projection in select.expressions]
    assert aliases[: len(NAMES)] == NAMES
    assert aliases[len(NAMES) :] == ["_sl_key", "_sl_fp", "_sl_ext", "_sl_pos"]
    # Every compared column feeds the fingerprint; the key is not among them.
    fingerprint = select.expressions[len(NAMES) + 1]
    used = {column.name for column in fingerprint.find_all(exp.Column)}
    assert used == set(NAMES) - {"id"}


def test_dialects_quote_the_planner_tables_their_own_way() -> None:
    bigquery = PlannerSQL("bigquery", "syncline_planner", 42).snapshot_size()
    snowflake = PlannerSQL("snowflake", "syncline_planner", 42).snapshot_size()
    assert "`syncline_planner`.`sync_42_snapshot`" in bigquery
    assert '"syncline_planner"."sync_42_snapshot"' in snowflake


def test_a_mapping_spelling_the_model_placeholder_stays_in_the_salt() -> None:
    sql = PlannerSQL("postgres", "syncline_planner", 42)
    salt = f'{{"mappings":[{{"to":"{MODEL}"}}]}}'
    statement = sql.load_current(
        "SELECT 1 AS id", FIELDS[:1], primary_key="id", id_column="id", salt=salt
    )[-1]
    select = sqlglot.parse_one(statement, read="postgres").expression
    assert isinstance(select.args["from_"].this, exp.Subquery)
    assert MODEL in statement.split("FROM (")[0]


@pytest.mark.parametrize("dialect", ["postgres", "duckdb"])
def test_the_models_trailing_semicolon_and_comment_stay_out_of_its_subquery(dialect: str) -> None:
    sql = PlannerSQL(dialect, "syncline_planner", 42)
    statement = sql.load_current(
        "SELECT ';' AS id; -- every row", FIELDS[:1], primary_key="id", id_column="id", salt=""
    )[-1]

    assert "(\nSELECT ';' AS id\n)" in statement
    sqlglot.parse_one(statement, read=dialect)


@pytest.mark.parametrize(
    "model",
    [
        "-- all rows\nSELECT * FROM model;;",
        "WITH a AS (SELECT 1 AS id) SELECT * FROM a",
        "(SELECT 1 AS id) UNION (SELECT 2)",
        "VALUES (1)",
        "SELECT ';' AS x, \"a;b\" FROM t /* ; */ WHERE y = $$;$$",
        "select 1 -- it's\nfrom t where a = ';'",
        "SELECT 'it''s; fine' AS a /* ; */ FROM t",
        "SELECT $tag$ a ; b $tag$ AS x, $t1$;$t1$ AS y FROM t",
        "SELECT E'it\\'s; fine' AS e, e'a''b;' AS f, x$ FROM t",
    ],
)
def test_a_single_query_passes_the_light_check(model: str) -> None:
    check_single_query(model, "postgres")


@pytest.mark.parametrize(
    "model",
    [
        "DELETE FROM model RETURNING id",
        "SELECT 1; DROP TABLE model",
        "SELECT 'a'; -- then\nDROP TABLE model",
        "  -- nothing\n",
        "CREATE TABLE t AS SELECT 1",
        # A name ending in $$ does not open a dollar quote, in ASCII or not.
        "SELECT email AS x$$ FROM users; DROP TABLE victim; SELECT 1 AS y$$",
        "SELECT email AS x\u00e9$$ FROM users; DROP TABLE victim; SELECT 1 AS y$$",
        # An E-string's backslash escapes its quote: the string ends later.
        "SELECT E'\\'' AS e FROM users; DROP TABLE victim; SELECT ''",
    ],
)
def test_anything_but_a_single_query_is_refused_by_the_light_check(model: str) -> None:
    with pytest.raises(UserError, match="must be a single SELECT"):
        check_single_query(model, "postgres")
