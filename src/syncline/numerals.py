"""Reading a whole number a person typed: a form input, a command-line argument, a header.

``str.isdigit`` is true for more than ``int`` reads ("²", "①"), and ``int`` also reads
digits of other scripts and refuses more than 4300 digits, so a check with one and a
parse with the other fails with a ValueError on such text. Every place that turns
typed text into a number asks :func:`whole_number` instead, which says yes or no once.
"""

from __future__ import annotations

MAX_DIGITS = 19
"""The longest number read: enough for any 64-bit id; a longer one is no id or count."""


def whole_number(text: str) -> int | None:
    """The non-negative integer ``text`` spells in ASCII digits (0-9), else None.

    Surrounding whitespace is not allowed; callers strip what they read first.
    """
    if text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS:
        return int(text)
    return None


def number_or_text(text: str) -> int | str:
    """The number ``text`` spells, else ``text`` itself: an id or a slug, a list index or
    a key in a problem's location."""
    number = whole_number(text)
    return text if number is None else number
