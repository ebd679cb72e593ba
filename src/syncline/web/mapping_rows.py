"""The mapping editor's rows: each row is one mapping of any kind, as form inputs.

Every row carries every input (those of the other kinds hidden), so the repeated
form fields stay aligned row by row. The rows become the API's mapping objects, and
the problems the API's checks find in ``configuration.mappings.N`` come back to the
row and input they concern.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from syncline.engine.config import Variable
from syncline.errors import Problem
from syncline.web.forms import problem_text
from syncline.web.users import SubmittedForm

KINDS = ("standard", "static", "variable", "template")
"""The mapping kinds, in the order the editor offers them."""

VARIABLES = tuple(variable.value for variable in Variable)

PARTS = ("from", "to", "value", "variable", "template")
"""The inputs of a row a problem can be shown beside; anything else goes to its kind."""

INPUTS = {
    "kind": "map_type",
    "column": "map_from",
    "value": "map_value",
    "value_as": "map_value_as",
    "variable": "map_variable",
    "template": "map_template",
    "to": "map_to",
}
"""Each row attribute's form field name."""

_MAPPING_LOCATION = re.compile(r"^configuration\.mappings\.(\d+)((?:\.[\w-]+)*)$")
_DUPLICATE = re.compile(r"^two mappings write the field (.+); keep one$")


@dataclass(frozen=True)
class MappingRow:
    """One row of the editor, holding the inputs of every kind."""

    kind: str = "standard"
    column: str = ""
    value: str = ""
    value_as: str = "text"
    """``text``: the value is sent as typed; ``json``: it is parsed as JSON (5, true, null)."""
    variable: str = VARIABLES[0]
    template: str = ""
    to: str = ""

    @property
    def blank(self) -> bool:
        """A column row left empty, which the form ignores; any other kind is meant."""
        return self.kind == "standard" and not self.column.strip() and not self.to.strip()

    def mapping(self) -> tuple[dict[str, Any], str | None]:
        """The API's mapping object for this row, and why its value is not JSON (or None).

        A static value that is not JSON is left out, so the API's checks refuse the row
        with the rest of the form and the reason can replace their "Field required".
        """
        if self.kind == "static":
            if self.value_as != "json":
                return {"type": "static", "value": self.value, "to": self.to}, None
            try:
                return {"type": "static", "value": json.loads(self.value), "to": self.to}, None
            except ValueError as exc:
                reason = f"{self.value!r} is not JSON ({exc}); quote text, or choose as text"
                return {"type": "static", "to": self.to}, reason
        if self.kind == "variable":
            return {"type": "variable", "variable": self.variable, "to": self.to}, None
        if self.kind == "template":
            return {"type": "template", "template": self.template, "to": self.to}, None
        if self.kind == "standard":
            return {"type": "standard", "from": self.column, "to": self.to or self.column}, None
        return {"type": self.kind, "to": self.to}, None

    @classmethod
    def of(cls, mapping: dict[str, Any]) -> MappingRow:
        """The row that shows a stored mapping."""
        kind = str(mapping.get("type", "standard"))
        to = str(mapping.get("to", ""))
        if kind == "static":
            value = mapping.get("value")
            if isinstance(value, str):
                return cls(kind=kind, value=value, to=to)
            return cls(kind=kind, value=json.dumps(value), value_as="json", to=to)
        if kind == "variable":
            return cls(kind=kind, variable=str(mapping.get("variable", VARIABLES[0])), to=to)
        if kind == "template":
            return cls(kind=kind, template=str(mapping.get("template", "")), to=to)
        return cls(kind=kind, column=str(mapping.get("from", "")), to=to)


def rows_from(form: SubmittedForm) -> list[MappingRow]:
    """Every row the form posted, blank ones included, in order."""
    columns = {attribute: form.texts(name) for attribute, name in INPUTS.items()}
    count = max(len(values) for values in columns.values())
    default = MappingRow()

    def at(attribute: str, index: int) -> str:
        # A form that sends only some inputs (an older page, a script) gets the defaults.
        values = columns[attribute]
        given = values[index] if index < len(values) else ""
        return given or str(getattr(default, attribute))

    return [MappingRow(**{a: at(a, index) for a in INPUTS}) for index in range(count)]


@dataclass
class MappingsOfForm:
    """The mappings the rows make, with the row each came from and the rows' own problems."""

    mappings: list[dict[str, Any]]
    row_of: list[int]
    """The form row of each mapping (blank rows make none)."""
    own_errors: dict[int, str]
    """Problems found in the form itself (a static value that is not JSON), by form row."""


def mappings_of(rows: Sequence[MappingRow]) -> MappingsOfForm:
    """The API's mappings for the non-blank rows."""
    made = MappingsOfForm([], [], {})
    for index, row in enumerate(rows):
        if row.blank:
            continue
        mapping, problem = row.mapping()
        made.mappings.append(mapping)
        made.row_of.append(index)
        if problem is not None:
            made.own_errors[index] = problem
    return made


def row_errors(
    problems: Sequence[Problem], made: MappingsOfForm
) -> tuple[dict[str, str], list[Problem]]:
    """Problems of single mappings as ``mapping.<row>.<input>`` errors, and the others.

    A field written by two mappings is shown on each row that writes it.
    """
    found: dict[str, str] = {}

    def put(key: str, message: str) -> None:
        found[key] = f"{found[key]}; {message}" if key in found else message

    rest = []
    for problem in problems:
        duplicate = _DUPLICATE.match(problem.message)
        if problem.location == "configuration" and duplicate:
            for position, mapping in enumerate(made.mappings):
                if repr(mapping.get("to")) == duplicate.group(1):
                    put(f"mapping.{made.row_of[position]}.to", problem.message)
            continue
        matched = _MAPPING_LOCATION.match(problem.location)
        if matched is None or int(matched.group(1)) >= len(made.row_of):
            rest.append(problem)
            continue
        row = made.row_of[int(matched.group(1))]
        part = matched.group(2).rsplit(".", 1)[-1]
        part = part if part in PARTS else "type"
        if part == "value" and row in made.own_errors:
            continue  # the form's own reason replaces the API's "Field required"
        put(f"mapping.{row}.{part}", problem_text(problem))
    for row, reason in made.own_errors.items():
        put(f"mapping.{row}.value", reason)
    return found, rest
