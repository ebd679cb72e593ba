"""Configuration of the webhook destination: where to send, how hard to push, how to sign."""

from __future__ import annotations

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
letter case, since Syncline's value would silently replace the configured one."""


class WebhookConfig(ConnectorConfig):
    """An HTTP endpoint that receives rows as JSON, in requests of ``batch_size`` rows."""

    identity_fields: ClassVar[tuple[str, ...]] = ("url",)

    url: str
    """Where requests go; ``http`` or ``https``."""

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
    """Retries of one request after a 429, 5xx, timeout or connection error."""

    backoff_base: float = Field(default=0.5, gt=0, le=60)
    """Upper bound of the first retry's wait in seconds; it doubles with each retry."""

    backoff_max: float = Field(default=30.0, gt=0, le=600)
    """Upper bound of any one backoff wait in seconds."""

    max_retry_after: float = Field(default=120.0, ge=0, le=3600)
    """The longest ``Retry-After`` honoured; a longer one fails the rows as retryable."""

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        reason = refused_host(url_host(value))
        if reason is not None:
            raise ValueError(f"{reason}; point it at the receiver's own host")
        return value

    @field_validator("headers")
    @classmethod
    def _not_reserved(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        reserved = sorted(name for name in value if name.lower() in RESERVED_HEADERS)
        if reserved:
            raise ValueError(f"Syncline sets {', '.join(reserved)} itself; remove them")
        return value

    def plain(self) -> dict[str, Any]:
        """The configuration as plain JSON values, header values and secret revealed."""
        data = super().plain()
        data["headers"] = {name: value.get_secret_value() for name, value in self.headers.items()}
        return data
