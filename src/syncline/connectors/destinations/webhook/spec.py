"""Configuration of the webhook destination: where to send, how hard to push, how to sign."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from syncline.connectors.config import ConnectorConfig
from syncline.security.hosts import refused_host, url_host

RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "host",
        "x-syncline-delivery",
        "x-syncline-signature",
        "x-syncline-timestamp",
    }
)
"""Headers Syncline sets itself, in lower case; a configuration may not set them in any
letter case, since Syncline's value would silently replace the configured one, nor with
``_`` for ``-``, which CGI and WSGI receivers read as the same header."""

_TOKEN = re.compile(r"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
"""An HTTP field name: a token (RFC 9110, section 5.1)."""

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
"""Control characters, which no field value may hold; a tab may sit between words."""


def _cgi_name(name: str) -> str:
    """``name`` as CGI and WSGI receivers read it: any letter case, ``_`` for ``-``."""
    return name.lower().replace("_", "-")


def header_fault(name: str, value: str) -> str | None:
    """Why HTTP cannot carry header ``name`` with ``value``, or None when it can.

    Checked when the configuration is read, since a request with such a header fails
    before it is sent, so every run would fail. The value is a secret: what is wrong
    with it is said, the value is not.
    """
    if not _TOKEN.fullmatch(name):
        return (
            f"{name!r} is not a valid header name: use letters, digits and "
            "!#$%&'*+-.^_`|~ only, with no spaces"
        )
    if _CONTROL.search(value):
        return f"the value of {name!r} holds a control character (a line break, say)"
    if not value.isascii():
        return f"the value of {name!r} holds non-ASCII characters"
    if value != value.strip(" \t"):
        return f"the value of {name!r} starts or ends with whitespace"
    return None


class WebhookConfig(ConnectorConfig):
    """An HTTP endpoint that receives rows as JSON, in requests of ``batch_size`` rows."""

    identity_fields: ClassVar[tuple[str, ...]] = ("url",)
    secret_query_fields: ClassVar[tuple[str, ...]] = ("url",)

    url: str
    """Where requests go; ``http`` or ``https``. Its query values (``?token=...``) are
    secrets, kept encrypted and shown masked; credentials before the host are refused."""

    method: Literal["POST", "PUT"] = "POST"
    """HTTP method of every request."""

    headers: dict[str, SecretStr] = Field(default_factory=dict)
    """Extra request headers, e.g. ``Authorization``; values are secrets, never shown."""

    secret: SecretStr | None = None
    """Key of the ``X-Syncline-Signature`` HMAC; no signature when unset."""

    batch_size: int = Field(default=100, ge=1, le=10_000)
    """Rows per request."""

    concurrency: int = Field(default=4, ge=1, le=64)
    """Requests in flight at once."""

    timeout: float = Field(default=30.0, gt=0, le=600)
    """Seconds to wait for connecting, sending and each read of the response."""

    max_retries: int = Field(default=5, ge=0, le=20)
    """Retries of one request after a 429, 5xx, timeout or connection error; a request is
    sent at most ``max_retries + 1`` times in a run (the engine adds no retries)."""

    backoff_base: float = Field(default=0.5, gt=0, le=60)
    """Upper bound of the first retry's wait in seconds; it doubles with each retry."""

    backoff_max: float = Field(default=30.0, gt=0, le=600)
    """Upper bound of any one backoff wait in seconds."""

    max_retry_after: float = Field(default=120.0, ge=0, le=3600)
    """The longest wait a ``Retry-After`` gets in seconds: a longer one is waited this
    long, then the request is retried."""

    max_response_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    """The most bytes of an answer's body read (4 MiB), so that a receiver cannot fill the
    memory: a longer 2xx or 4xx answer refuses the request's rows as retryable."""

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if parts.username is not None or parts.password is not None:
            # The URL is shown in answers and listings; headers are write-only secrets.
            raise ValueError(
                "must not hold credentials before the host (user:password@); send them "
                "in a header instead: headers: {Authorization: 'Basic <base64 of "
                "user:password>'}"
            )
        reason = refused_host(url_host(value))
        if reason is not None:
            raise ValueError(f"{reason}; point it at the receiver's own host")
        return value

    @field_validator("headers")
    @classmethod
    def _not_reserved(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        faults = [
            fault
            for name, secret in value.items()
            if (fault := header_fault(name, secret.get_secret_value())) is not None
        ]
        if faults:
            raise ValueError("; ".join(faults))
        # A receiver behind CGI or WSGI reads X_Syncline_Delivery as X-Syncline-Delivery.
        reserved = sorted(name for name in value if _cgi_name(name) in RESERVED_HEADERS)
        if reserved:
            raise ValueError(
                f"Syncline sets {', '.join(reserved)} itself (receivers may read '_' as "
                "'-' in header names, in any letter case); remove them"
            )
        return value

    def plain(self) -> dict[str, Any]:
        """The configuration as plain JSON values, header values and secret revealed."""
        data = super().plain()
        data["headers"] = {name: value.get_secret_value() for name, value in self.headers.items()}
        return data
