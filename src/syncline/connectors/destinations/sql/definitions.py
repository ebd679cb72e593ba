"""Reading a CREATE TABLE statement a database gives back: its column definitions."""

from __future__ import annotations


def table_parts(body: str) -> list[str]:
    """The column definitions and table constraints of a CREATE TABLE's body (the text
    between its outer parentheses), split at the commas outside quotes and parentheses."""
    parts, depth, quote_char, start = [], 0, "", 0
    for i, char in enumerate(body):
        if quote_char:
            quote_char = "" if char == quote_char else quote_char
        elif char in "\"'`[":
            quote_char = "]" if char == "[" else char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(body[start:i].strip())
            start = i + 1
    parts.append(body[start:].strip())
    return parts
