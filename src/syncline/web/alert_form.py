"""The alert policy form: a stored policy as the form's fields, and the posted fields back.

Each trigger has a mode: ``follow`` leaves it out of the policy (a sync then takes its
destination's, a destination the built-in default), ``off`` turns it off (``false``) and
``own`` sets it here. A sync's recipients follow its destination's or are its own list,
which may be empty. A part of the form posted as it was shown keeps the stored policy's
part as it is, so an untouched form saves the same policy: no share is rounded through its
percentage, and nothing the policy left to the destination is set.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from syncline.web.users import SubmittedForm

FOLLOW, OFF, OWN = "follow", "off", "own"

TRIGGERS = {
    "rejected": ("rejectedRows", ("count", "share", "level")),
    "slow": ("slowRun", ("after", "level")),
    "drop": ("rowCountDrop", ("share", "level")),
}
"""Form prefix → the trigger's key in a policy and the fields the form asks for."""


def number_text(value: Any) -> str:
    """A stored number as a person writes it: ``10``, not ``10.0``, never ``1e+01``."""
    try:
        return format(Decimal(str(value)).normalize(), "f")
    except InvalidOperation:
        return str(value)


def percent_text(share: Any) -> str:
    """A share (0 to 1) as the percentage the form shows, exact to the stored digits."""
    if share is None:
        return ""
    try:
        return format((Decimal(str(share)) * 100).normalize(), "f")
    except InvalidOperation:
        return str(share)


def share_of(percent: str) -> float | str:
    """The share a percentage typed in the form stands for; the text itself when it is none,
    so the policy's own check names the problem."""
    try:
        return float(Decimal(percent) / 100)
    except InvalidOperation:
        return percent


def duration_text(seconds: Any) -> str:
    """Stored seconds as the form shows them: ``30m``, ``2h``, ``95.5s``."""
    if not isinstance(seconds, int | float):
        return "" if seconds is None else str(seconds)
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{number_text(seconds / size)}{unit}"
    return f"{number_text(seconds)}s"


def _mode(triggers: dict[str, Any], key: str) -> str:
    if key not in triggers:
        return FOLLOW
    # ``rejectedRows: null`` cannot mean off: it states the default, any rejected row.
    return OFF if triggers[key] is None and key != "rejectedRows" else OWN


def form_values(stored: dict[str, Any] | None) -> dict[str, str]:
    """The form's fields as the stored policy (None: no policy of its own) sets them."""
    triggers = (stored or {}).get("triggers") or {}
    rejected = triggers.get("rejectedRows") or {}
    slow = triggers.get("slowRun") or {}
    drop = triggers.get("rowCountDrop") or {}
    own_recipients = (stored or {}).get("recipients") is not None
    return {
        "rejected_mode": _mode(triggers, "rejectedRows"),
        "rejected_count": number_text(rejected["count"]) if "count" in rejected else "",
        "rejected_share": percent_text(rejected.get("share")),
        "rejected_level": rejected.get("level", "warning"),
        "slow_mode": _mode(triggers, "slowRun"),
        "slow_after": duration_text(slow.get("after")),
        "slow_level": slow.get("level", "warning"),
        "drop_mode": _mode(triggers, "rowCountDrop"),
        "drop_share": percent_text(drop.get("share")),
        "drop_level": drop.get("level", "warning"),
        "recipients_mode": OWN if own_recipients else FOLLOW,
    }


def _own_trigger(form: SubmittedForm, prefix: str) -> dict[str, Any]:
    """A trigger set here, from its fields; blank required ones are left for the policy's
    check to name."""
    declared: dict[str, Any] = {"level": form.text(f"{prefix}_level") or "warning"}
    if prefix == "slow":
        declared["after"] = form.text("slow_after")
    elif prefix == "drop":
        declared["share"] = share_of(form.text("drop_share"))
    else:
        if form.text("rejected_count"):
            declared["count"] = form.text("rejected_count")
        if form.text("rejected_share"):
            declared["share"] = share_of(form.text("rejected_share"))
    return declared


def declared_triggers(form: SubmittedForm, stored: dict[str, Any] | None) -> dict[str, Any]:
    """The triggers the form describes, each one posted as shown kept as stored."""
    shown = form_values(stored)
    before = (stored or {}).get("triggers") or {}
    triggers: dict[str, Any] = {}
    for prefix, (key, fields) in TRIGGERS.items():
        names = [f"{prefix}_mode", *(f"{prefix}_{field}" for field in fields)]
        if all(form.text(name) == shown[name] for name in names):
            if key in before:
                triggers[key] = before[key]
            continue
        mode = form.text(f"{prefix}_mode")
        if mode == OFF:
            triggers[key] = False
        elif mode == OWN:
            triggers[key] = _own_trigger(form, prefix)
    return triggers


NEW_RECIPIENT_FIELDS = ("url", "to", "from", "host", "port", "level")
"""The recipient keys the "Add a recipient" fields set; the field of ``to`` is ``new_to``."""


def new_recipient(form: SubmittedForm) -> dict[str, Any] | None:
    """The recipient the "Add a recipient" fields describe, or None when they are blank.

    A half-filled one is returned as it is, so the policy's check names what it lacks
    rather than the form dropping it.
    """
    kind, level = form.text("new_type"), form.text("new_level") or "warning"
    if not kind and not any(form.text(f"new_{field}") for field in NEW_RECIPIENT_FIELDS[:-1]):
        return None
    if kind == "email":
        return {
            "type": "email",
            "host": form.text("new_host"),
            "port": form.text("new_port") or 25,
            "from": form.text("new_from"),
            "to": [a.strip() for a in form.text("new_to").split(",") if a.strip()],
            "level": level,
        }
    return {"type": kind, "url": form.text("new_url"), "level": level}


def new_recipient_aliases(declared: dict[str, Any]) -> dict[str, str]:
    """Where the policy's check places the new recipient's problems → the form's fields.

    It is the last of the declared recipients; a problem of the whole recipient
    concerns its type.
    """
    where = f"alerts.recipients.{len(declared.get('recipients') or []) - 1}"
    fields = {f"{where}.{key}": f"new_{key}" for key in NEW_RECIPIENT_FIELDS}
    return {where: "new_type", f"{where}.type": "new_type", **fields}


def named_new_recipient(declared: dict[str, Any], errors: dict[str, str]) -> dict[str, str]:
    """``errors`` with each problem of the new recipient saying which recipient it is."""
    kinds = {"email": "e-mail recipient", "webhook": "webhook", "slack": "Slack webhook"}
    kind = kinds.get(str((declared.get("recipients") or [{}])[-1].get("type")), "recipient")
    return {
        field: f"The new {kind}: {message}" if field.startswith("new_") else message
        for field, message in errors.items()
    }


def declared_from(form: SubmittedForm, stored: dict[str, Any] | None) -> dict[str, Any]:
    """The policy the form describes, as a project would declare it.

    What the form leaves as it was shown stays as stored, key for key: a policy that
    had no ``triggers`` or ``recipients`` gets none, and no policy at all reads ``{}``.
    """
    before = stored or {}
    declared: dict[str, Any] = {}
    triggers = declared_triggers(form, stored)
    if triggers or "triggers" in before:
        declared["triggers"] = triggers

    removed = set(form.texts("remove_recipient"))
    new = new_recipient(form)
    # A destination's form has no mode: its list is always its own.
    posted = form.text("recipients_mode")
    if not removed and new is None and posted in ("", form_values(stored)["recipients_mode"]):
        if "recipients" in before:
            declared["recipients"] = before["recipients"]
    elif (posted or OWN) == OWN:
        kept = [
            r for index, r in enumerate(before.get("recipients") or []) if str(index) not in removed
        ]
        declared["recipients"] = [*kept, *([new] if new else [])]
    return declared


def mode_choices(scope: str, values: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """The modes each trigger's select offers on a destination's or sync's form: (value, label)."""
    if scope == "syncs":
        follow = (FOLLOW, "as the destination")
        switchable = [follow, (OFF, "off"), (OWN, "on, as set here")]
        return {"rejected": [follow, (OWN, "as set here")], "slow": switchable, "drop": switchable}
    # On a destination a trigger left out is off too, so "off" posts whichever of the two
    # the policy holds and an untouched save stores the same.
    choices = {"rejected": [(FOLLOW, "any rejected row (the default)"), (OWN, "as set here")]}
    for prefix in ("slow", "drop"):
        off = OFF if values.get(f"{prefix}_mode") == OFF else FOLLOW
        choices[prefix] = [(off, "off"), (OWN, "on, as set here")]
    return choices
