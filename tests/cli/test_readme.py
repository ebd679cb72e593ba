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


def _command_paths() -> list[tuple[str, ...]]:
    """Every command a user can type, as its words after ``syncline``."""
    import typer.main

    from syncline.cli.app import app

    def walk(command: Any, path: tuple[str, ...]) -> list[tuple[str, ...]]:
        if hasattr(command, "commands"):  # a group (typer carries its own click)
            return [
                found
                for name, sub in sorted(command.commands.items())
                if not sub.hidden
                for found in walk(sub, (*path, name))
            ]
        return [path]

    return walk(typer.main.get_command(app), ())


@pytest.mark.parametrize("path", _command_paths(), ids=" ".join)
def test_every_command_is_in_the_command_table(path: tuple[str, ...]) -> None:
    text = README.read_text(encoding="utf-8")
    first_cells = re.findall(r"^\| (`syncline [^|]*(?:\\\|[^|]*)*) \|", text, re.MULTILINE)
    *group, name = path
    prefix = " ".join(["`syncline", *group])
    listed = any(
        cell.startswith(f"{prefix} {name}")
        or (group and cell.startswith(prefix + " ") and f"/ `{name}" in cell)
        for cell in first_cells
    )
    assert listed, f"the README's command table lacks `syncline {' '.join(path)}`"
