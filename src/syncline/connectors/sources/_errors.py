"""Translation of driver errors at the source boundary, shared by every source."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar

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


class _Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


@contextmanager
def connected(
    connect: Callable[[], C], map_error: Callable[[Exception], ConnectorError]
) -> Iterator[C]:
    """A new connection for the block, its driver errors translated, closed at the end."""
    connection = connect()
    try:
        with translated(map_error):
            yield connection
    finally:
        connection.close()


def first_line(error: object) -> str:
    """The first line of a driver error, which carries its reason without the SQL echo."""
    lines = str(error).strip().splitlines()
    return lines[0].strip() if lines else type(error).__name__
