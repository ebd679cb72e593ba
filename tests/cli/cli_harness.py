"""What a command line invocation returns in the CLI tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """What one command printed, and its exit code."""

    code: int
    out: str
    err: str


Invoke = Callable[..., Result]
