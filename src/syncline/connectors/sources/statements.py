"""A model's SQL as one statement, without the semicolons and comments that may trail it.

SQL pasted from an editor often ends in ``;``, sometimes followed by a comment. Where a
model's SQL is set inside another statement (PostgreSQL's ``COPY (...) TO STDOUT``,
SQLite's temporary view, the warehouse planner's subquery) that tail is a syntax error,
and drivers and servers differ on it when the SQL is sent as it is (MariaDB refuses
``; ;`` before a comment, Python's sqlite3 any second ``;``), so
:func:`single_statement` drops it. SQL holding a second statement is refused with a
message that says so, rather than with the server's syntax error. DuckDB splits
statements itself (see ``DuckDBSource``) and does without.

The scan is a small one written for this, not a parse: it knows each dialect's quoted
text (strings, quoted names, PostgreSQL's dollar quotes) and comments, so a ``;`` inside
any of them stays where it is. SQL without a ``;`` is returned without being scanned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from syncline.errors import TerminalError


@dataclass(frozen=True)
class Quoting:
    """How a dialect writes quoted text and comments, as far as finding its ``;`` needs."""

    quotes: str = "'\""
    """Characters that open text closed by the same character; doubled, it is text."""
    backslash_quotes: str = ""
    """Those of :attr:`quotes` whose text a backslash escapes in (MySQL's strings, as
    its default ``sql_mode`` reads them: without ``NO_BACKSLASH_ESCAPES``)."""
    brackets: bool = False
    """``[name]`` is a quoted name (SQLite, after SQL Server)."""
    dollar_quotes: bool = False
    """``$tag$ ... $tag$`` is quoted text (PostgreSQL, DuckDB)."""
    escape_strings: bool = False
    """``E'...'`` is a string a backslash escapes in (PostgreSQL)."""
    nested_comments: bool = False
    """``/* ... */`` comments nest (PostgreSQL, DuckDB)."""
    hash_comments: bool = False
    """``#`` starts a comment to the end of the line (MySQL)."""
    spaced_dashes: bool = False
    """``--`` starts a comment only before whitespace or the end (MySQL)."""


QUOTING: dict[str, Quoting] = {
    "postgres": Quoting(dollar_quotes=True, escape_strings=True, nested_comments=True),
    "duckdb": Quoting(dollar_quotes=True, escape_strings=True, nested_comments=True),
    "mysql": Quoting(quotes="'\"`", backslash_quotes="'\"", hash_comments=True, spaced_dashes=True),
    "sqlite": Quoting(quotes="'\"`", brackets=True),
}
"""Each source dialect's quoting, by the name :attr:`Source.dialect` gives."""

STANDARD = Quoting()
"""Standard SQL's: ``'text'``, ``"name"``, ``--`` and ``/* */`` comments."""

_DOLLAR_TAG = re.compile(r"\$(?:[^\W\d]\w*)?\$")


def single_statement(query: str, dialect: str, *, connector: str | None = None) -> str:
    """``query`` without the semicolons, whitespace and comments after its statement.

    ``dialect`` names the :data:`QUOTING` to scan with (standard SQL's when unknown);
    ``connector`` names the source in the error. SQL that is only comments is left as
    it is, for the server to refuse. A ``--`` comment that ends the statement itself
    stays: set inside other SQL, the result must be followed by a newline.

    Raises:
        TerminalError: the SQL holds a second statement after a ``;``.
    """
    if ";" not in query:
        return query

    statements = [
        (first, end)
        for first, end in _pieces(query, QUOTING.get(dialect, STANDARD))
        if first is not None
    ]
    if len(statements) > 1:
        second = statements[1][0]
        line = query.count("\n", 0, second) + 1
        opening = " ".join(query[second:].split())[:40]
        raise TerminalError(
            f"the model's SQL holds a second statement after its ';' (line {line}: "
            f"{opening!r}); a model is a single query, so remove the second statement "
            "or combine the two into one query (e.g. with UNION ALL)",
            connector=connector,
        )
    if not statements or statements[0][1] == len(query):
        return query
    return query[: statements[0][1]].rstrip()


def _pieces(query: str, quoting: Quoting) -> list[tuple[int | None, int]]:
    """``query`` cut at each ``;`` outside quotes and comments: (first, end) of each piece.

    ``first`` is where the piece's SQL starts, None when it holds only whitespace and
    comments; ``end`` is where its ``;`` (or the query) ends it. Quoted text or a
    comment left open runs to the end, as the server would read it.
    """
    pieces: list[tuple[int | None, int]] = []
    first: int | None = None
    at = 0
    while at < len(query):
        char = query[at]
        if char == ";":
            pieces.append((first, at))
            first = None
            at += 1
        elif char.isspace():
            at += 1
        elif (end := _comment_end(query, at, quoting)) is not None:
            at = end
        else:
            first = at if first is None else first
            at = _quoted_end(query, at, quoting) or at + 1
    pieces.append((first, len(query)))
    return pieces


def _comment_end(query: str, at: int, quoting: Quoting) -> int | None:
    """Where the comment starting at ``at`` ends; None when none starts there."""
    pair = query[at : at + 2]
    if pair == "--" and quoting.spaced_dashes:
        after = query[at + 2 : at + 3]
        if after and not after.isspace():
            return None
    if pair == "--" or (quoting.hash_comments and pair[:1] == "#"):
        end = query.find("\n", at)
        return len(query) if end < 0 else end + 1
    if pair != "/*":
        return None

    depth = 0
    while at < len(query):
        pair = query[at : at + 2]
        if pair == "/*" and (depth == 0 or quoting.nested_comments):
            depth += 1
            at += 2
        elif pair == "*/":
            depth -= 1
            at += 2
            if depth == 0:
                return at
        else:
            at += 1
    return len(query)


def _quoted_end(query: str, at: int, quoting: Quoting) -> int | None:
    """Where the quoted text starting at ``at`` ends; None when none starts there."""
    char = query[at]
    if _in_name(query, at):
        return None
    if quoting.escape_strings and char in "eE" and query[at + 1 : at + 2] == "'":
        return _closing(query, at + 1, "'", backslash=True)
    if char in quoting.quotes:
        return _closing(query, at, char, backslash=char in quoting.backslash_quotes)
    if quoting.brackets and char == "[":
        end = query.find("]", at + 1)
        return len(query) if end < 0 else end + 1
    if quoting.dollar_quotes and char == "$":
        tag = _DOLLAR_TAG.match(query, at)
        if tag is None:
            return None
        end = query.find(tag.group(), tag.end())
        return len(query) if end < 0 else end + len(tag.group())
    return None


def _in_name(query: str, at: int) -> bool:
    """Whether the character before ``at`` makes ``at`` part of a name (``x$$``, ``e'``).

    Quotes themselves always open text; only ``E`` and ``$`` depend on what precedes.
    """
    if at == 0 or query[at] not in "eE$":
        return False
    before = query[at - 1]
    return before.isalnum() or before in "_$" or not before.isascii()


def _closing(query: str, at: int, quote: str, *, backslash: bool) -> int:
    """The end of the text opened by ``quote`` at ``at``: past its closing quote."""
    at += 1
    while at < len(query):
        char = query[at]
        if backslash and char == "\\":
            at += 2
        elif char == quote:
            if query[at + 1 : at + 2] != quote:
                return at + 1
            at += 2
        else:
            at += 1
    return len(query)
