"""Secrets at rest: the Fernet key, and connector configurations with secret fields encrypted.

A stored configuration keeps every secret value as ``{"$secret": "<Fernet token>"}`` (a
text value) or ``{"$secretJson": "<Fernet token>"}`` (any other JSON value: a mapping of
headers, a list, a number), so reading it back never depends on knowing which fields were
secret when it was written, and every value comes back exactly as it was given. A URL
whose query string holds secrets (a webhook's ``?token=...``) is kept as
``{"$secretUrl": "<Fernet token>", "shown": "<the URL, values masked>"}``, so it can be
shown without being decrypted.
The key comes from ``SYNCLINE_SECRET_KEY``, else from a key file in ``SYNCLINE_HOME``
made on first start and readable by its owner only.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from cryptography.fernet import Fernet, InvalidToken

from syncline.errors import ConfigError
from syncline.security.masking import masked_url
from syncline.security.private import private_folder
from syncline.settings import Settings

logger = logging.getLogger(__name__)

KEY_FILE_NAME = "secret.key"
"""Name of the key file in ``SYNCLINE_HOME`` when ``SYNCLINE_SECRET_KEY`` is unset."""

MARKER = "$secret"
"""The key under which a stored configuration keeps an encrypted text value."""

JSON_MARKER = "$secretJson"
"""The key under which a stored configuration keeps an encrypted non-text JSON value."""

URL_MARKER = "$secretUrl"
"""The key under which a stored configuration keeps an encrypted URL; ``shown`` beside it
holds the URL with its query values masked, for display."""

_SECRET_NAME = re.compile(
    r"(^|_|-)(password|passwd|passphrase|token|secret|api_?key|private_?key|credentials?)($|_|-)",
    re.IGNORECASE,
)

ConnectorKind = Literal["source", "destination"]


def load_key(settings: Settings) -> bytes:
    """The Fernet key of this installation: from the setting, else from the key file."""
    if settings.secret_key:
        return _checked_key(settings.secret_key.encode(), "SYNCLINE_SECRET_KEY")
    return _key_from_file(settings.home / KEY_FILE_NAME)


def _checked_key(key: bytes, where: str) -> bytes:
    try:
        Fernet(key)
    except ValueError:
        raise ConfigError(
            f"{where} is not a Fernet key (32 url-safe base64-encoded bytes); "
            "make one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'",
            code="BAD_SECRET_KEY",
        ) from None
    return key


def _key_from_file(path: Path) -> bytes:
    if not path.exists():
        private_folder(path.parent)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            # Another process made the key between our check and our open: use theirs.
            return _key_from_file(path)
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key())
        logger.info("created a new secret key file at %s", path)

    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"the secret key file {path} is readable by others (mode {mode:o}); "
            f"run: chmod 600 {path}",
            code="SECRET_KEY_FILE_OPEN",
        )
    return _checked_key(path.read_bytes().strip(), f"the key file {path}")


class SecretBox:
    """Encrypts and decrypts the secret values of connector configurations with one key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(_checked_key(key, "the secret key"))

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        """A box holding this installation's key."""
        return cls(load_key(settings))

    def encrypt(self, value: str) -> str:
        """A Fernet token of ``value``."""
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        """The value behind ``token``; a token of another key is a clear ConfigError."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ConfigError(
                "a stored secret cannot be decrypted: the secret key changed since it was "
                "saved. Set SYNCLINE_SECRET_KEY to the old key (or restore the old "
                "secret.key file in SYNCLINE_HOME), or enter the secrets again.",
                code="SECRET_KEY_CHANGED",
            ) from None

    def seal(
        self,
        configuration: Mapping[str, Any],
        secret_fields: Iterable[str],
        url_fields: Iterable[str] = (),
    ) -> dict[str, Any]:
        """A copy of ``configuration`` ready to store, each secret value encrypted.

        ``secret_fields`` name top-level keys; keys named like a password, token or API
        key are treated as secret too, at any depth, so a connector that declares too
        little still keeps its credentials out of the database. ``url_fields`` name
        top-level URLs whose query values are secrets: one that has any is encrypted
        whole and kept with its masked form.
        """
        sealed = self._seal(configuration, frozenset(secret_fields))
        for key in url_fields:
            value = sealed.get(key)
            if isinstance(value, str) and masked_url(value) != value:
                sealed[key] = {URL_MARKER: self.encrypt(value), "shown": masked_url(value)}
        return sealed

    def _seal(self, data: Mapping[str, Any], secret_fields: frozenset[str]) -> dict[str, Any]:
        sealed: dict[str, Any] = {}
        for key, value in data.items():
            if is_sealed(value):
                sealed[key] = value
            elif (key in secret_fields or looks_secret(key)) and value is not None:
                sealed[key] = self._seal_value(_unwrap(value))
            elif isinstance(value, Mapping):
                sealed[key] = self._seal(value, frozenset())
            else:
                sealed[key] = value
        return sealed

    def _seal_value(self, value: Any) -> dict[str, str]:
        if isinstance(value, str):
            return {MARKER: self.encrypt(value)}
        try:
            text = json.dumps(value, sort_keys=True, default=_unwrap_json)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"a secret value of type {type(value).__name__} cannot be stored ({exc}); "
                "give it as text, a number, a list or a mapping"
            ) from None
        return {JSON_MARKER: self.encrypt(text)}

    def reveal(self, stored: Mapping[str, Any]) -> dict[str, Any]:
        """The configuration as written by the user, secrets decrypted, for drivers only."""
        plain: dict[str, Any] = {}
        for key, value in stored.items():
            if is_sealed(value) and MARKER in value:
                plain[key] = self.decrypt(value[MARKER])
            elif is_sealed(value) and URL_MARKER in value:
                plain[key] = self.decrypt(value[URL_MARKER])
            elif is_sealed(value):
                plain[key] = json.loads(self.decrypt(value[JSON_MARKER]))
            elif isinstance(value, Mapping):
                plain[key] = self.reveal(value)
            else:
                plain[key] = value
        return plain


def _unwrap(value: Any) -> Any:
    # A pydantic SecretStr given by a caller is stored as the text it hides.
    if hasattr(value, "get_secret_value"):
        return value.get_secret_value()
    return value


def _unwrap_json(value: Any) -> Any:
    if hasattr(value, "get_secret_value"):
        return value.get_secret_value()
    raise TypeError(f"{type(value).__name__} is not JSON")


def is_sealed(value: object) -> bool:
    """True when ``value`` is an encrypted secret as stored."""
    return isinstance(value, Mapping) and set(value) in (
        {MARKER},
        {JSON_MARKER},
        {URL_MARKER, "shown"},
    )


def looks_secret(key: str) -> bool:
    """True when a configuration key is named like a credential (password, token, ...)."""
    return bool(_SECRET_NAME.search(key))


def redacted(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The stored configuration without its secret fields, for display and the API; a
    URL with secrets in its query is shown with their values masked."""
    shown: dict[str, Any] = {}
    for key, value in stored.items():
        if is_sealed(value) and URL_MARKER in value:
            shown[key] = value["shown"]
            continue
        if is_sealed(value):
            continue
        shown[key] = redacted(value) if isinstance(value, Mapping) else value
    return shown


def shown_configuration(
    kind: ConnectorKind, type_name: str, stored: Mapping[str, Any]
) -> dict[str, Any]:
    """:func:`redacted`, with the connector type's secret-query URLs masked even when
    stored in plain text (saved before they were encrypted)."""
    shown = redacted(stored)
    for key in secret_query_fields(kind, type_name):
        if isinstance(shown.get(key), str):
            shown[key] = masked_url(shown[key])
    return shown


def keep_secrets(new: Mapping[str, Any], stored: Mapping[str, Any]) -> dict[str, Any]:
    """``new`` with every stored secret it leaves out kept, as an edit of a redacted view does.

    This is the API's merge (PATCH) rule; a project apply replaces the whole configuration
    instead, so a secret the project file no longer has is removed.
    """
    merged = dict(new)
    for key, value in stored.items():
        if key not in merged and is_sealed(value):
            merged[key] = value
    return merged


def secret_fields(
    kind: ConnectorKind, type_name: str, explicit: Iterable[str] | None = None
) -> frozenset[str]:
    """Names of the secret fields of a connector type's configuration.

    ``explicit`` wins when given; otherwise the connector class's
    ``config_model.secret_fields()``; when the class cannot be loaded, no names, and
    :meth:`SecretBox.seal` still encrypts every key named like a credential.
    """
    if explicit is not None:
        return frozenset(explicit)
    config_model = _config_model(kind, type_name)
    return frozenset(config_model.secret_fields()) if config_model is not None else frozenset()


def secret_query_fields(kind: ConnectorKind, type_name: str) -> frozenset[str]:
    """Names of a connector type's URL fields whose query values are secrets; none when
    the class cannot be loaded."""
    config_model = _config_model(kind, type_name)
    if config_model is None:
        return frozenset()
    return frozenset(config_model.secret_query_fields)


def _config_model(kind: ConnectorKind, type_name: str) -> Any:
    from syncline.connectors import registry

    lookup = registry.source_class if kind == "source" else registry.destination_class
    try:
        return lookup(type_name).config_model
    except (ImportError, AttributeError, ConfigError) as exc:
        logger.debug(
            "no configuration model for %s type %s (%s); secrets found by name",
            kind,
            type_name,
            type(exc).__name__,
        )
        return None
