"""The README's connector reference lists every configuration key of every built-in connector."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from syncline.connectors import registry
from syncline.connectors.destinations.base import SyncMode

README = Path(__file__).resolve().parents[2] / "README.md"

CONNECTORS = [("Source", name, registry.source_class) for name in registry.SOURCES] + [
    ("Destination", name, registry.destination_class) for name in registry.DESTINATIONS
]


def _connector_id(value: object) -> str:
    # Ids must not hold function addresses: parallel workers must collect the same tests.
    return value if isinstance(value, str) else "lookup"


def documented(kind: str, name: str) -> dict[str, str]:
    """Key -> default as the README's table for one connector shows them."""
    text = README.read_text(encoding="utf-8")
    heading = re.search(rf"^#### {kind} `{name}`.*$", text, re.MULTILINE)
    assert heading, f"the README has no section '#### {kind} `{name}`'"
    section = text[heading.end() :].split("\n#", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| ([^|]+) \|", section, re.MULTILINE)
    return {key: default.strip() for key, default in rows}


def shown_default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value: Any = info.default
    if value is PydanticUndefined and info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, dict):
        return "`{}`"
    return f"`{value}`"


@pytest.mark.parametrize(("kind", "name", "lookup"), CONNECTORS, ids=_connector_id)
def test_every_configuration_key_is_documented_with_its_default(
    kind: str, name: str, lookup: Any
) -> None:
    model = lookup(name).config_model
    expected = {
        info.alias or field: shown_default(info) for field, info in model.model_fields.items()
    }

    assert documented(kind, name) == expected


def test_every_mode_is_in_the_modes_table() -> None:
    text = README.read_text(encoding="utf-8")

    for mode in SyncMode:
        assert re.search(rf"^\| `{mode.value}` \|", text, re.MULTILINE), mode
