"""Secrets taken out of messages that may reach a log, a terminal or an API answer."""

from __future__ import annotations

import re

MASK = "***"


def scrub(message: str, *secrets: str | None) -> str:
    """``message`` with every non-empty secret replaced by ``***`` where it stands alone.

    A secret counts where no letter or digit touches it on either side: as a password
    in a URL (``:s3cret@``) or quoted, it goes, but inside another word it stays, for
    masking the ``odbc`` in ``pyodbc`` would show that the password is ``odbc``. Longer
    secrets go first, so that one holding another is masked whole.
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        alone = rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])"
        message = re.sub(alone, MASK, message)
    return message
