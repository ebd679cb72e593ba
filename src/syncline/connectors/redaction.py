"""Errors leaving a connector with every secret of its configuration masked.

A connector builds its messages from driver errors, URLs and server answers, any of
which may repeat a password, a token or a URL carrying one. Masking them where each
message is built leaves one forgotten spot to leak it to the API, the run record, the
log and the terminal alike, so the connector base classes mask every error their
public methods raise, and every reason a batch result gives for a rejected row, once,
with :func:`guard`.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from syncline.connectors.config import ConnectorConfig
from syncline.errors import SynclineError, ValidationError
from syncline.security.masking import redact

_GUARDED = "__syncline_redacted__"
"""Attribute marking a method already wrapped, so that a subclass does not wrap it twice."""


class _Configured(Protocol):
    config: ConnectorConfig


def guard(cls: type, names: Iterable[str]) -> None:
    """Wrap the methods called ``names`` that ``cls`` defines itself to redact their errors.

    Methods ``cls`` inherits were wrapped when their own class was made.
    """
    for name in names:
        method = cls.__dict__.get(name)
        if callable(method) and not getattr(method, _GUARDED, False):
            setattr(cls, name, _wrapped(method))


def redact_error(error: SynclineError, connector: _Configured) -> SynclineError:
    """``error`` with the connector's secrets masked in its message, changed in place.

    The driver error it was raised from goes when it shows a secret, so that a logged
    traceback does not show what the message hides.
    """
    secrets = connector.config.secret_values()
    if not isinstance(error, ValidationError):
        error.message = redact(error.message, *secrets)
        error.args = (error.message,)
    cause = error.__cause__ or error.__context__
    if cause is not None and redact(str(cause), *secrets) != str(cause):
        error.__cause__ = None
        error.__suppress_context__ = True
    return error


def redact_failures(result: Any, connector: _Configured) -> None:
    """Mask the connector's secrets in the reason of each of ``result``'s rejected rows.

    A receiver's refusal may echo the request, headers included; the reasons reach the
    run's row records, the API, the web pages and the CLI.
    """
    failures = getattr(result, "failures", None)
    if not isinstance(failures, list) or not failures:
        return
    secrets = connector.config.secret_values()
    for position, failure in enumerate(failures):
        reason = getattr(failure, "reason", None)
        is_record = dataclasses.is_dataclass(failure) and not isinstance(failure, type)
        if isinstance(reason, str) and is_record:
            masked = redact(reason, *secrets)
            if masked != reason:
                failures[position] = dataclasses.replace(failure, reason=masked)


def _wrapped(method: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def generator(self: _Configured, *args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from method(self, *args, **kwargs)
            except SynclineError as exc:
                redact_error(exc, self)
                raise

        setattr(generator, _GUARDED, True)
        return generator

    @functools.wraps(method)
    def call(self: _Configured, *args: Any, **kwargs: Any) -> Any:
        try:
            result = method(self, *args, **kwargs)
        except SynclineError as exc:
            redact_error(exc, self)
            raise
        error = getattr(result, "error", None)
        if isinstance(error, SynclineError):
            redact_error(error, self)
        redact_failures(result, self)
        return result

    setattr(call, _GUARDED, True)
    return call
