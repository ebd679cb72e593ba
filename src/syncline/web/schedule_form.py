"""The schedule editor shared by the sync and sequence forms: API schedule to inputs and back.

Every part of a stored schedule has an input (the time zone of a cron or visual
schedule, each time slot of a visual one), so saving a form unchanged stores the
schedule it was drawn from. A visual schedule's slots are numbered inputs
``visual_slot_<n>_<day>`` and ``visual_slot_<n>_time``; a slot left empty or marked
``visual_slot_<n>_remove`` is not sent.
"""

from __future__ import annotations

import re
from typing import Any

from syncline.numerals import whole_number
from syncline.web.users import SubmittedForm

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SCHEDULE_TYPES = ("manual", "interval", "cron", "visual", "dbt")
INTERVAL_UNITS = ("minute", "hour", "day", "week")
ZONED_TYPES = ("cron", "visual")
"""Schedule types that may carry a ``timezone``."""
SCHEDULE_CHOICES = {"days": DAYS, "schedule_types": SCHEDULE_TYPES, "units": INTERVAL_UNITS}
"""What the schedule editor's template offers, for every form that holds one."""

SCHEDULE_ALIASES = {
    "schedule": "schedule",
    "schedule.schedule.account": "dbt_account",
    "schedule.schedule.job": "dbt_job",
    "schedule.schedule.timezone": "schedule_timezone",
}
"""Where the API's schedule problems go on the form: an input's own, else the editor's."""

_SLOT_INPUT = re.compile(r"visual_slot_([0-9]{1,6})_")


def schedule_from(form: SubmittedForm) -> dict[str, Any] | None:
    """The API schedule of the chosen type (None for manual), from that type's inputs.

    A type the editor does not offer is sent as it came, so the API refuses it as an
    unknown schedule type rather than the form storing a manual sync.
    """
    kind = form.text("schedule_type") or "manual"
    if kind == "manual":
        return None
    if kind == "interval":
        typed = form.text("interval_quantity")
        quantity = whole_number(typed)
        interval = {
            "unit": form.text("interval_unit"),
            "quantity": typed if quantity is None else quantity,
        }
        return {"type": "interval", "schedule": {"interval": interval}}
    if kind == "dbt":
        account, job = form.text("dbt_account"), form.text("dbt_job")
        return {"type": "dbt", "schedule": {"account": {"id": account}, "job": {"id": job}}}
    if kind not in ZONED_TYPES:
        return {"type": kind, "schedule": {}}

    body: dict[str, Any]
    if kind == "cron":
        body = {"expression": form.text("cron_expression")}
    else:
        body = {"expressions": [_expression(slot) for slot in visual_slots_of(form)]}
    zone = form.text("schedule_timezone")
    if zone:
        body["timezone"] = zone
    return {"type": kind, "schedule": body}


def _expression(slot: dict[str, Any]) -> dict[str, Any]:
    """One visual expression from a slot of the form: its chosen days and time."""
    return {"days": {day: True for day in slot["days"]}, "time": slot["time"]}


def visual_slots_of(form: SubmittedForm) -> list[dict[str, Any]]:
    """The visual time slots the form sends, in order; empty and removed slots left out."""
    numbers = sorted({int(m.group(1)) for key in form.data if (m := _SLOT_INPUT.match(key))})
    slots = []
    for n in numbers:
        if form.text(f"visual_slot_{n}_remove") == "on":
            continue
        days = [day for day in DAYS if form.text(f"visual_slot_{n}_{day}") == "on"]
        time = form.text(f"visual_slot_{n}_time")
        if days or time:
            slots.append({"days": days, "time": time})
    return slots


def schedule_values(schedule: dict[str, Any] | None) -> dict[str, Any]:
    """The schedule editor's values for a stored API schedule (None is manual)."""
    schedule = schedule or {}
    body = schedule.get("schedule") or {}
    kind = schedule.get("type")
    if kind == "interval":
        interval = body.get("interval") or {}
        return {
            "schedule_type": "interval",
            "interval_quantity": str(interval.get("quantity", "")),
            "interval_unit": interval.get("unit", "hour"),
        }
    if kind in ("dbt", "dbt-cloud"):
        return {
            "schedule_type": "dbt",
            "dbt_account": str((body.get("account") or {}).get("id", "")),
            "dbt_job": str((body.get("job") or {}).get("id", "")),
        }
    if kind not in ZONED_TYPES:
        return {"schedule_type": "manual"}

    values = {"schedule_type": kind, "schedule_timezone": str(body.get("timezone") or "")}
    if kind == "cron":
        return {**values, "cron_expression": body.get("expression", "")}
    slots = [
        {"days": [d for d in DAYS if (item.get("days") or {}).get(d)], "time": item.get("time", "")}
        for item in body.get("expressions") or []
        if isinstance(item, dict)
    ]
    return {**values, "visual_slots": slots}
