"""Bodies of the alert policy endpoints: a destination's default policy and a sync's override.

A policy is written as in a project file (see :mod:`syncline.alerts.policy`) and
checked by that module's own model, so the API, the web UI and YAML accept and
refuse the same policies. The document below describes the body's outline; the
policy model decides the rest and names every problem it finds.

Read back, a recipient leaves out its secrets (a webhook's or Slack's ``url`` and
``headers``, an e-mail ``password``): they are write-only, as a source's password is.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from syncline.alerts.policy import RejectedRowsTrigger, RowCountDropTrigger, SlowRunTrigger
from syncline.api.schemas import Strict

_TRIGGER_OR_OFF = {"type": ["object", "boolean", "null"]}

POLICY_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "triggers": {
            "type": "object",
            "additionalProperties": False,
            "description": "Unset or null triggers keep their defaults (on a sync, the "
            "destination's); false turns one off.",
            "properties": {
                "rejectedRows": {
                    "type": ["object", "null"],
                    "description": "{count, share, level}: more rejected rows raise it.",
                },
                "slowRun": {
                    **_TRIGGER_OR_OFF,
                    "description": "{after, level}: a run longer than after (90s, 30m, 2h).",
                },
                "rowCountDrop": {
                    **_TRIGGER_OR_OFF,
                    "description": "{share, level}: the model returns this share fewer rows.",
                },
            },
        },
        "recipients": {
            "type": ["array", "null"],
            "description": "webhook, slack or email recipients; null takes the destination's "
            "(on a sync) or nobody (on a destination).",
            "items": {"type": "object"},
        },
    },
}
"""The request body of a destination's PUT, as the OpenAPI document declares it."""

SYNC_POLICY_BODY_SCHEMA: dict[str, Any] = {
    **POLICY_BODY_SCHEMA,
    "properties": {
        **POLICY_BODY_SCHEMA["properties"],
        "effective": {
            "readOnly": True,
            "description": "Read-only: the policy the sync's runs are held to, as GET "
            "answers it. Accepted and ignored, so a policy read back can be put back.",
        },
    },
}
"""The request body of a sync's PUT: a policy, or what its GET answered (``effective`` too)."""


class TriggersView(Strict):
    """Every tunable trigger: null leaves it to the default (or, on a sync, the destination).

    ``false`` is a trigger the policy turns off; the default of rejected rows is any
    rejected row, of the others not watched.
    """

    rejectedRows: RejectedRowsTrigger | None
    slowRun: SlowRunTrigger | Literal[False] | None
    rowCountDrop: RowCountDropTrigger | Literal[False] | None


class RecipientView(Strict):
    """A recipient as read back: its type, level and the fields that are no secret."""

    type: str
    level: str
    host: str | None = None
    port: int | None = None
    sender: str | None = Field(default=None, alias="from")
    to: list[str] | None = None
    starttls: bool | None = None
    username: str | None = None


class AlertPolicyView(Strict):
    """A stored alert policy; an unset one reads as every default and no recipients."""

    triggers: TriggersView
    recipients: list[RecipientView] | None
    """None: the destination's recipients (on a sync) or nobody (on a destination)."""


class SyncAlertPolicyView(AlertPolicyView):
    """A sync's own policy, and the one its runs are held to: its own over its destination's."""

    effective: AlertPolicyView
