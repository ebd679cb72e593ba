"""The one-statement scan: trailing semicolons and comments go, quoted ones stay."""

from __future__ import annotations

import pytest

from syncline.connectors.sources.statements import single_statement
from syncline.errors import TerminalError


def test_sql_without_a_semicolon_is_returned_unscanned() -> None:
    query = "SELECT 1 -- no semicolon here\n"

    assert single_statement(query, "postgres") is query


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        ("SELECT 1;", "SELECT 1"),
        ("SELECT 1 ;; \n", "SELECT 1"),
        ("SELECT 1; -- x", "SELECT 1"),
        ("SELECT 1; /* x; */ ;\n-- y;", "SELECT 1"),
        ("SELECT 1 -- x;\n;", "SELECT 1 -- x;"),
        ("SELECT ';' AS a;", "SELECT ';' AS a"),
        ("SELECT 'it''s;' AS a; -- x", "SELECT 'it''s;' AS a"),
        ('SELECT 1 AS ";"; -- x', 'SELECT 1 AS ";"'),
        ("SELECT $$;$$; -- x", "SELECT $$;$$"),
        ("SELECT $t$ $$; $t$;", "SELECT $t$ $$; $t$"),
        ("SELECT E'\\';' AS e;", "SELECT E'\\';' AS e"),
        ("SELECT /* /* ; */ ; */ 1;", "SELECT /* /* ; */ ; */ 1"),
        ("SELECT 'open;", "SELECT 'open;"),
        ("-- only a comment;\n", "-- only a comment;\n"),
    ],
)
def test_postgres_loses_only_its_trailing_semicolons_and_comments(query: str, kept: str) -> None:
    assert single_statement(query, "postgres") == kept


@pytest.mark.parametrize(
    ("query", "second"),
    [
        ("SELECT 1; SELECT 2", "line 1: 'SELECT 2'"),
        ("SELECT 'a'; -- then\nDROP TABLE model", "line 2: 'DROP TABLE model'"),
        # A name ending in $ does not open a dollar quote, in ASCII or not.
        ("SELECT 1 AS x$$; DROP TABLE victim; SELECT 1 AS y$$", "'DROP TABLE victim;"),
        ("SELECT 1 AS x\u00e9$$; DROP TABLE victim; SELECT 1 AS y$$", "'DROP TABLE victim;"),
        # An E-string's backslash escapes its quote; a plain string's does not.
        ("SELECT E'\\''; DROP TABLE victim; SELECT ''", "\"DROP TABLE victim; SELECT ''\""),
        ("SELECT 'a\\'; DROP TABLE victim", "'DROP TABLE victim'"),
        # An E at the end of a name does not start an E-string.
        ("SELECT 1 AS none'\\'; DROP TABLE victim", "'DROP TABLE victim'"),
    ],
)
def test_postgres_second_statement_is_refused_naming_where_it_starts(
    query: str, second: str
) -> None:
    with pytest.raises(TerminalError) as caught:
        single_statement(query, "postgres", connector="postgres")

    message = str(caught.value)
    assert second in message
    assert "a model is a single query, so remove the second statement" in message
    assert caught.value.connector == "postgres"


@pytest.mark.parametrize(
    ("dialect", "query", "kept"),
    [
        ("mysql", "SELECT 'it\\'s;'; # x", "SELECT 'it\\'s;'"),
        ("mysql", 'SELECT "a\\";"; -- x', 'SELECT "a\\";"'),
        ("mysql", "SELECT 1 AS `;`; /* x */", "SELECT 1 AS `;`"),
        ("mysql", "SELECT $$;", "SELECT $$"),
        ("sqlite", "SELECT [;] FROM t; -- x", "SELECT [;] FROM t"),
        ("sqlite", "SELECT `;` FROM t;", "SELECT `;` FROM t"),
        ("duckdb", "SELECT $$;$$; -- x", "SELECT $$;$$"),
        ("snowflake", "SELECT ';'; -- x", "SELECT ';'"),
    ],
)
def test_each_dialect_keeps_its_own_quoted_semicolons(dialect: str, query: str, kept: str) -> None:
    assert single_statement(query, dialect) == kept


@pytest.mark.parametrize(
    ("dialect", "query"),
    [
        # MySQL's -- starts a comment only before a space: here it is two minus signs.
        ("mysql", "SELECT 1 --1; SELECT 2"),
        # MySQL and SQLite comments do not nest: the first */ ends the comment.
        ("mysql", "SELECT /* /* */ 1; */"),
        ("sqlite", "SELECT /* /* */ 1; */"),
        ("sqlite", "SELECT 1; SELECT 2"),
    ],
)
def test_dialect_rules_that_leave_a_second_statement(dialect: str, query: str) -> None:
    with pytest.raises(TerminalError, match="holds a second statement"):
        single_statement(query, dialect)
