"""Plain words for what a sync does: its schedule, mode and mappings, as pages show them."""

from __future__ import annotations

from typing import Any

_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def schedule_words(schedule: dict[str, Any] | None) -> str:
    """E.g. ``every 2 hours``, ``cron 0 6 * * * (Europe/Berlin)``, ``manual``.

    Cron and visual schedules name their time zone, UTC when they carry none.
    """
    if not schedule:
        return "manual: runs only when triggered"
    kind = schedule.get("type")
    body = schedule.get("schedule") or {}
    if kind == "interval":
        interval = body.get("interval") or {}
        quantity, unit = interval.get("quantity"), interval.get("unit", "?")
        return f"every {unit}" if quantity == 1 else f"every {quantity} {unit}s"
    if kind == "cron":
        return f"cron {body.get('expression', '?')} ({body.get('timezone') or 'UTC'})"
    if kind == "visual":
        parts = []
        for item in body.get("expressions") or []:
            days = [d.capitalize() for d in _DAYS if (item.get("days") or {}).get(d)]
            parts.append(f"{', '.join(days) or 'no day'} at {item.get('time', '?')}")
        if not parts:
            return "custom recurrence with no times"
        return f"{'; '.join(parts)} ({body.get('timezone') or 'UTC'})"
    if kind in ("dbt", "dbt-cloud"):
        account = (body.get("account") or {}).get("id", "?")
        job = (body.get("job") or {}).get("id", "?")
        return f"after each successful run of dbt Cloud job {job} (account {account})"
    return f"{kind} schedule"


def mapping_words(mapping: dict[str, Any]) -> str:
    """One mapping as ``column email → field Email`` and the like."""
    to = mapping.get("to", "?")
    kind = mapping.get("type", "standard")
    if kind == "static":
        return f"the value {mapping.get('value')!r} → {to}"
    if kind == "variable":
        return f"the run's {mapping.get('variable')} → {to}"
    if kind == "template":
        return f"template {mapping.get('template')!r} → {to}"
    return f"column {mapping.get('from', '?')} → {to}"


def mode_words(mode: str | None) -> str:
    """What a sync mode does to the destination."""
    return {
        "upsert": "upsert: insert new rows and update changed ones",
        "update": "update: change rows that already exist, never add",
        "insert": "insert: add new rows, never change existing ones",
        "mirror": "mirror: add, change and delete so the object matches the model",
        "all": "all: send every row on every run",
        "append": "append: add every change as a new row",
    }.get(mode or "", mode or "-")


def removed_words(configuration: dict[str, Any]) -> str:
    """What happens in the destination to the records of rows that leave the model.

    Mirror deletes them and insert and append leave them, whatever ``deleteBehavior``
    says; the other modes follow it (unset is ``nothing``).
    """
    mode = configuration.get("mode", "upsert")
    if mode == "mirror":
        behaviour = "delete"
    elif mode in ("insert", "append"):
        behaviour = "nothing"
    else:
        behaviour = configuration.get("deleteBehavior") or "nothing"
    return {
        "nothing": "left in the destination",
        "clear": "their mapped fields are cleared",
        "delete": "deleted from the destination",
    }.get(behaviour, str(behaviour))
