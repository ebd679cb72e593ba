"""Translation of driver errors at the source boundary, shared by every source."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from syncline.errors import ConnectorError, SynclineError

logger = logging.getLogger(__name__)


@contextmanager
def translated(map_error: Callable[[Exception], ConnectorError]) -> Iterator[None]:
    """Raise driver errors inside the block as the taxonomy error ``map_error`` picks."""
    try:
        yield
    except SynclineError:
        raise
    except Exception as exc:
        raise map_error(exc) from exc


def scrub(message: str, *secrets: str | None) -> str:
    """``message`` with every non-empty secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return message


def first_line(error: object) -> str:
    """The first line of a driver error, which carries its reason without the SQL echo."""
    lines = str(error).strip().splitlines()
    return lines[0].strip() if lines else type(error).__name__
