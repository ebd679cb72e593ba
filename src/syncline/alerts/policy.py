"""Alert policies: which triggers a sync is held to, and who hears about it.

A destination's policy is the default of every sync writing to it; a sync's own policy
overrides it trigger by trigger, and replaces the recipient list when it names one.
The failed-run and rejected-row triggers are always on; only their thresholds change.

As written in a project file (and stored, recipients' secrets sealed)::

    alerts:
      triggers:
        rejectedRows: {count: 10}            # or {share: 0.05}; level warning by default
        slowRun: {after: 30m}                # off unless set; ``false`` turns it off
        rowCountDrop: {share: 0.5}           # off unless set; ``false`` turns it off
      recipients:
        - {type: slack, url: "${SLACK_HOOK}", level: critical}
        - {type: webhook, url: "http://...", headers: {X-Token: "${TOKEN}"}}
        - {type: email, host: smtp.internal, port: 587, starttls: true,
           from: syncline@example.org, to: [oncall@example.org],
           username: syncline, password: "${SMTP_PASSWORD}"}
"""

from __future__ import annotations

import re
from collections.abc import Collection
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

import pydantic
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from syncline.errors import Problem, ValidationError
from syncline.numerals import whole_number
from syncline.security.hosts import refused_host, url_host
from syncline.security.secrets import looks_secret

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, None: 1}


class AlertLevel(StrEnum):
    """The state of one trigger: fine, or how bad."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for ok, 1 for warning, 2 for critical, so levels compare."""
        return _RANKS[self]


_RANKS = {AlertLevel.OK: 0, AlertLevel.WARNING: 1, AlertLevel.CRITICAL: 2}


def _severity(value: Any) -> Any:
    """Refuse a level other than warning or critical in words, not enum reprs."""
    if value not in (AlertLevel.WARNING, AlertLevel.CRITICAL):
        raise ValueError(f"expected warning or critical, not {value!r}")
    return value


Severity = Annotated[Literal[AlertLevel.WARNING, AlertLevel.CRITICAL], BeforeValidator(_severity)]
"""The level a trigger raises or a recipient hears of."""

_ADDRESS_LOCAL = re.compile(r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*")
_LABEL = r"[^\W_](?:(?:[^\W_]|-)*[^\W_])?"
_ADDRESS_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def address_problem(address: object) -> str | None:
    """Why ``address`` is not a bare e-mail address (``name@example.org``), or None.

    Only the bare form is taken: no display name, no angle brackets, no quoting, no
    comments, spaces or line breaks, so an address can never add a header or another
    recipient to the message it is written into.
    """
    example = "write a bare address such as oncall@example.org"
    if not isinstance(address, str):
        return f"{address!r} is not an e-mail address; {example}"
    if any(char.isspace() or not char.isprintable() for char in address):
        return f"{address!r} holds spaces, line breaks or control characters; {example}"
    local, at, domain = address.rpartition("@")
    if not at or len(address) > 254:
        return f"{address!r} is not an e-mail address; {example}"
    if not _ADDRESS_LOCAL.fullmatch(local) or not _ADDRESS_DOMAIN.fullmatch(domain):
        return (
            f"{address!r} is not a bare e-mail address (no display name, <>, quotes, commas "
            f"or a second @); {example}"
        )
    return None


def _seconds(value: Any) -> Any:
    """A duration as seconds: a number is seconds, text may end in s, m or h (``30m``)."""
    if isinstance(value, str):
        match = _DURATION.fullmatch(value)
        if match is None:
            raise ValueError(f"{value!r} is not a duration; write e.g. 90s, 30m or 2h")
        return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return value


Duration = Annotated[float, BeforeValidator(_seconds), Field(gt=0)]
"""Seconds, written as a number or as text such as ``30m``."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class RejectedRowsTrigger(_Strict):
    """Raised when a run rejects more rows than allowed: by count, by share, or either."""

    count: int | None = Field(default=None, ge=0)
    """More rejected rows than this raise the alert; 0 (the default) means any."""
    share: float | None = Field(default=None, gt=0, le=1)
    """A larger share of the run's planned rows rejected raises the alert."""
    level: Severity = AlertLevel.WARNING


class SlowRunTrigger(_Strict):
    """Raised when a run takes longer than ``after``."""

    after: Duration
    level: Severity = AlertLevel.WARNING


class RowCountDropTrigger(_Strict):
    """Raised when the model returns a ``share`` fewer rows than its last successful run."""

    share: float = Field(gt=0, le=1)
    level: Severity = AlertLevel.WARNING


class Triggers(_Strict):
    """The tunable triggers; a failed run is always CRITICAL and needs no settings."""

    rejected_rows: RejectedRowsTrigger | None = Field(default=None, alias="rejectedRows")
    """None: any rejected row is a WARNING."""
    slow_run: SlowRunTrigger | None = Field(default=None, alias="slowRun")
    """None (or ``false`` as written): not watched."""
    row_count_drop: RowCountDropTrigger | None = Field(default=None, alias="rowCountDrop")
    """None (or ``false`` as written): not watched."""

    @field_validator("rejected_rows", mode="before")
    @classmethod
    def _always_on(cls, value: Any) -> Any:
        if value is False:
            raise ValueError("rejected rows are always watched; raise the threshold instead")
        return value

    @field_validator("slow_run", "row_count_drop", mode="before")
    @classmethod
    def _off(cls, value: Any) -> Any:
        # ``false`` reads better than null when a sync turns off its destination's trigger.
        return None if value is False else value


SWITCHABLE_TRIGGERS = frozenset({"slow_run", "row_count_drop"})
"""Triggers a policy may turn off (``false``); set to None, they were turned off."""


class _Recipient(_Strict):
    level: Severity = AlertLevel.WARNING
    """The lowest level this recipient hears of: ``critical`` only, or ``warning`` too."""

    def wants(self, before: AlertLevel, after: AlertLevel) -> bool:
        """True when a change between these levels concerns this recipient."""
        return max(before.rank, after.rank) >= AlertLevel(self.level).rank


ALLOWED_HOSTS = "allowed_hosts"
"""The validation context key of the hosts recipients may name; any when empty."""

STORED = "stored"
"""The validation context key set when a stored policy is read back (see AlertPolicy.load)."""


def smtp_host(host: str) -> str:
    """The host name an e-mail to ``host`` is sent to, as smtplib's socket looks it up.

    The socket layer encodes a host name with Python's ``idna`` codec, which takes
    Unicode dots for dots and drops invisible characters, so ``169。254。169。254`` is
    169.254.169.254 too. ValueError when the codec refuses the name: it is never reached.
    """
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"{host} is not a valid host name: {exc}") from None


def _check_host(host: str, info: ValidationInfo) -> None:
    """Refuse ``host`` (already as the client will read it) or one not allowed."""
    reason = refused_host(host)
    allowed = (info.context or {}).get(ALLOWED_HOSTS) or ()
    name = host.strip().strip("[]").rstrip(".").lower()
    if reason is None and allowed and name not in allowed:
        reason = f"{host} is not among the hosts alerts may go to ({', '.join(allowed)})"
    if reason is not None:
        raise ValueError(reason)


def _http_url(value: str, info: ValidationInfo) -> str:
    if not value.strip():
        raise ValueError("give the URL alerts are posted to, starting with http:// or https://")
    if not re.match(r"https?://[^/\s]+", value):
        raise ValueError("the url must start with http:// or https:// and name a host")
    _check_host(url_host(value), info)
    return value


class WebhookRecipient(_Recipient):
    """A JSON POST of every notice to ``url``."""

    type: Literal["webhook"]
    url: Annotated[str, BeforeValidator(str)]
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str, info: ValidationInfo) -> str:
        return _http_url(value, info)


class SlackRecipient(_Recipient):
    """A Slack (or compatible) incoming webhook: ``{"text": ...}`` plus blocks."""

    type: Literal["slack"]
    url: Annotated[str, BeforeValidator(str)]

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str, info: ValidationInfo) -> str:
        return _http_url(value, info)


class EmailRecipient(_Recipient):
    """An e-mail through an SMTP server, optionally upgraded with STARTTLS and logged in."""

    type: Literal["email"]
    host: str
    port: int = 25
    sender: str = Field(alias="from")
    to: list[str]
    starttls: bool = False
    username: str | None = None
    password: SecretStr | None = None

    @field_validator("host")
    @classmethod
    def _reachable_host(cls, value: str, info: ValidationInfo) -> str:
        if not value.strip():
            raise ValueError("give the SMTP server's host name, e.g. smtp.example.org")
        _check_host(smtp_host(value), info)
        return value

    @field_validator("port", mode="before")
    @classmethod
    def _port(cls, value: Any) -> Any:
        whole = isinstance(value, float) and value.is_integer()
        text = str(int(value) if whole else value).strip()
        port = None if isinstance(value, bool) else whole_number(text)
        if port is None or not 1 <= port <= 65535:
            raise ValueError(
                f"{value!r} is not a port; give a whole number from 1 to 65535, e.g. 25 or 587"
            )
        return port

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str, info: ValidationInfo) -> str:
        if not value.strip():
            raise ValueError("give the address alerts are sent from, e.g. syncline@example.org")
        problem = None if _stored(info) else address_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("to", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if not value:
            raise ValueError("give at least one address to send alerts to, e.g. oncall@example.org")
        if _stored(info):
            return value
        problems = [problem for problem in map(address_problem, value) if problem is not None]
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @model_validator(mode="after")
    def _login_pairs(self) -> Self:
        if (self.username is None) != (self.password is None):
            raise ValueError("give both username and password to log in, or neither")
        return self


def _stored(info: ValidationInfo) -> bool:
    # A policy saved before addresses had to be bare still loads; delivery refuses only
    # the e-mail recipient whose address is bad, so the others are still told.
    return bool((info.context or {}).get(STORED))


def _recipient_type(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("type"))
    return str(getattr(value, "type", None))


Recipient = Annotated[
    Annotated[WebhookRecipient, Tag("webhook")]
    | Annotated[SlackRecipient, Tag("slack")]
    | Annotated[EmailRecipient, Tag("email")],
    Discriminator(
        _recipient_type,
        custom_error_type="invalid_recipient_type",
        custom_error_message="the recipient type must be webhook, slack or email",
    ),
]

RECIPIENT_TYPES = ("webhook", "slack", "email")
"""The ``type`` of each kind of recipient, which is also its tag in validation errors."""

RECIPIENT_SECRETS = {"webhook": ("url", "headers"), "slack": ("url",), "email": ("password",)}
"""Fields sealed at rest per recipient type: a Slack or webhook URL is a credential."""


class AlertPolicy(_Strict):
    """The alerts of a destination or a sync, as written in the project."""

    triggers: Triggers = Field(default_factory=Triggers)
    recipients: list[Recipient] | None = None
    """None: take the destination's recipients (on a sync) or nobody (on a destination)."""

    @classmethod
    def parse(
        cls, raw: Any, *, where: str = "alerts", allowed_hosts: Collection[str] = ()
    ) -> AlertPolicy:
        """Validate ``raw``, reporting every problem at once with the key it concerns.

        With ``allowed_hosts`` (the ``SYNCLINE_ALERT_ALLOWED_HOSTS`` setting), a
        recipient must name one of them.
        """
        try:
            return cls.model_validate(raw, context={ALLOWED_HOSTS: tuple(allowed_hosts)})
        except pydantic.ValidationError as exc:
            problems = []
            for err in exc.errors():
                parts = _without_tags(err["loc"])
                location = ".".join([where, *parts])
                # pydantic prefixes a validator's own words; people need only the words.
                message = err["msg"].removeprefix("Value error, ")
                value = err.get("input") if _shown(parts, err.get("input")) else None
                problems.append(Problem(location=location, message=message, value=value))
            raise ValidationError(problems) from None

    @classmethod
    def load(cls, stored: Any) -> AlertPolicy:
        """A policy as the catalog holds it, checked when it was saved.

        E-mail addresses are not checked again: one saved before the check existed must
        not stop the sync's other recipients from hearing of changes.
        """
        return cls.model_validate(stored, context={STORED: True})

    def dump(self) -> dict[str, Any]:
        """Plain JSON, keys as written, secrets revealed: what a project declares."""
        data = self.model_dump(mode="json", by_alias=True, exclude_unset=True)
        for index, recipient in enumerate(self.recipients or ()):
            if isinstance(recipient, EmailRecipient) and recipient.password is not None:
                data["recipients"][index]["password"] = recipient.password.get_secret_value()
        return data

    def over(self, default: AlertPolicy | None) -> AlertPolicy:
        """This (a sync's) policy laid over ``default`` (its destination's)."""
        if default is None:
            return self
        triggers = default.triggers.model_copy(
            update={name: getattr(self.triggers, name) for name in self.triggers.model_fields_set}
        )
        recipients = self.recipients if self.recipients is not None else default.recipients
        return AlertPolicy(triggers=triggers, recipients=recipients)


def _shown(parts: list[str], value: Any) -> bool:
    """Whether a refused value may be echoed: not a recipient's secret, nor what holds one."""
    if "recipients" not in parts:
        return True
    secret = {name for names in RECIPIENT_SECRETS.values() for name in names}
    last = parts[-1] if parts else ""
    if last == "to" and isinstance(value, list):
        return True  # e-mail addresses, as sent
    return last not in secret and not looks_secret(last) and not isinstance(value, dict | list)


def _without_tags(loc: tuple[int | str, ...]) -> list[str]:
    # A tagged union adds the tag after a recipient's index; people never wrote it.
    parts: list[str] = []
    for index, part in enumerate(loc):
        if part in RECIPIENT_TYPES and loc[max(index - 2, 0) : index][:1] == ("recipients",):
            continue
        parts.append(str(part))
    return parts
