"""The base of every connector configuration model: strict keys and declared secrets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self
from urllib.parse import parse_qsl, urlsplit

import pydantic
from pydantic import BaseModel, ConfigDict, SecretStr

from syncline.connectors.setting_problems import setting_problem
from syncline.errors import ValidationError
from syncline.security.masking import masked_url
from syncline.security.secrets import looks_secret

TARGET_FIELD_NAMES = frozenset(
    {
        "host", "hostname", "port", "unix_socket",
        "url", "uri", "endpoint", "dsn",
        "path", "file", "directory",
        "user", "username", "account", "database",
        "sslmode", "ssl_ca", "ssl_verify_identity",
    }
)  # fmt: skip
"""Keys (as written) that say where or as whom a connector connects.

A connector's secrets were given for one server and one login; when one of these
keys changes, a stored secret must not follow it to the new place (see
:meth:`ConnectorConfig.target_changes`). A model overrides ``target_fields`` when
its keys use other names.
"""


SHORTEST_HIDDEN_SECRET = 4
"""Secret values shorter than this are not masked in messages (see ``secret_values``)."""


class ConnectorConfig(BaseModel):
    """Configuration of a source or destination; unknown keys are an error.

    Fields typed ``SecretStr`` are secrets: the catalog encrypts them at rest, the API
    never returns them, and their ``repr`` never shows the value.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    identity_fields: ClassVar[tuple[str, ...]] = ()
    """Keys (as written) that say where data goes: host, database, path, url ...

    Changing one points the connection at another target, which has received nothing
    of what the syncs' snapshots remember, so those snapshots must go.
    """

    secret_query_fields: ClassVar[tuple[str, ...]] = ()
    """Keys (as written) of URLs whose query-string values are secrets (``?token=...``).

    The catalog encrypts such a URL and the API shows it with the values masked; a
    masked URL sent back keeps the stored one (see :mod:`syncline.api.connections`).
    """

    target_fields: ClassVar[tuple[str, ...] | None] = None
    """Keys (as written) that say where or as whom the connector connects.

    None means the model's keys named in :data:`TARGET_FIELD_NAMES`.
    """

    @classmethod
    def identity_changes(cls, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
        """The identity keys whose values differ between two raw configurations.

        A key left out counts as its default, so writing ``port: 5432`` where it was
        implied is no change; values compare as text (``5432`` and ``"5432"`` are one).
        """
        return cls._changed(cls.identity_fields, before, after)

    @classmethod
    def connection_target_fields(cls) -> tuple[str, ...]:
        """The keys (as written) that say where or as whom this connector connects."""
        if cls.target_fields is not None:
            return cls.target_fields
        written = (info.alias or name for name, info in cls.model_fields.items())
        return tuple(key for key in written if key in TARGET_FIELD_NAMES)

    @classmethod
    def target_changes(cls, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
        """The target keys whose values differ, compared as :meth:`identity_changes` does.

        Stored secrets are not reused once this is not empty: they belong to the old
        server or login, and sending them to a new one would hand them to whoever
        runs it.
        """
        return cls._changed(cls.connection_target_fields(), before, after)

    @classmethod
    def _changed(
        cls, keys: tuple[str, ...], before: Mapping[str, Any], after: Mapping[str, Any]
    ) -> list[str]:
        changed = []
        for key in keys:
            default = cls._default_of(key)
            old, new = before.get(key, default), after.get(key, default)
            if str(old) != str(new):
                changed.append(key)
        return changed

    @classmethod
    def _default_of(cls, key: str) -> Any:
        for name, info in cls.model_fields.items():
            if key in (name, info.alias) and not info.is_required():
                return info.get_default(call_default_factory=True)
        return None

    @classmethod
    def secret_fields(cls) -> frozenset[str]:
        """Names (as written in configurations) of the fields that hold secrets."""
        names = set()
        for name, info in cls.model_fields.items():
            annotation = info.annotation
            if annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ()):
                names.add(info.alias or name)
        return frozenset(names)

    def secret_values(self) -> list[str]:
        """Every secret value this configuration holds, to mask wherever a message shows it.

        The values of fields typed ``SecretStr`` (also inside mappings and lists, as
        header values are), of fields named like a credential and of the query strings
        of :attr:`secret_query_fields`; values shorter than
        :data:`SHORTEST_HIDDEN_SECRET` are left out, since masking them would mangle
        ordinary words without hiding anything worth hiding.
        """
        found: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name, None)
            found.extend(_secret_leaves(value, named_secret=looks_secret(name)))
        for key in self.secret_query_fields:
            url = self.plain().get(key)
            if isinstance(url, str):
                found.extend(value for _, value in parse_qsl(urlsplit(url).query))
        return [value for value in found if len(value) >= SHORTEST_HIDDEN_SECRET]

    @classmethod
    def parse(cls, raw: dict[str, Any], *, where: str = "configuration") -> Self:
        """Validate ``raw``, reporting every problem at once with the field it concerns."""
        try:
            return cls.model_validate(raw)
        except pydantic.ValidationError as exc:
            problems = []
            for err in exc.errors():
                path = ".".join(str(p) for p in err["loc"])
                location = f"{where}.{path}" if path else where
                field = str(err["loc"][0]) if err["loc"] else ""
                secret = field in cls.secret_fields()
                hidden = secret or "password" in path or "token" in path
                value = None if hidden or err["type"] == "missing" else err.get("input")
                if field in cls.secret_query_fields and isinstance(value, str):
                    value = masked_url(value)
                problems.append(setting_problem(err, location, value))
            raise ValidationError(problems) from None

    def plain(self) -> dict[str, Any]:
        """The configuration as plain JSON values, secrets revealed, for drivers only."""
        data = self.model_dump(mode="json", by_alias=True)
        for name in self.secret_fields():
            value = getattr(self, name, None)
            if isinstance(value, SecretStr):
                data[name] = value.get_secret_value()
        return data


def _secret_leaves(value: Any, *, named_secret: bool) -> list[str]:
    """The secret texts inside ``value``: every ``SecretStr``, and all of it when named so."""
    if isinstance(value, SecretStr):
        return [value.get_secret_value()]
    if isinstance(value, Mapping):
        return [
            leaf
            for key, item in value.items()
            for leaf in _secret_leaves(item, named_secret=named_secret or looks_secret(str(key)))
        ]
    if isinstance(value, list | tuple):
        return [leaf for item in value for leaf in _secret_leaves(item, named_secret=named_secret)]
    if named_secret and isinstance(value, str | int | float) and not isinstance(value, bool):
        return [str(value)]
    return []
