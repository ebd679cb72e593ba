"""The configuration object of a sync: mode, object, mappings, external id, deletes, guards."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

import pydantic
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from syncline.connectors.destinations.base import SyncMode
from syncline.engine.config_problems import configuration_problem
from syncline.errors import ValidationError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class StandardMapping(_Strict):
    """Copy a model column into a destination field."""

    type: Literal["standard"] = "standard"
    from_: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)


class StaticMapping(_Strict):
    """Write the same constant value into a field for every row."""

    type: Literal["static"]
    value: Any
    to: str = Field(min_length=1)


class Variable(StrEnum):
    """Values a variable mapping can write: the sync's id, the run's id, the row's operation."""

    SYNC_ID = "sync-id"
    SYNC_RUN_ID = "sync-run-id"
    ROW_OPERATION = "row-operation"


class VariableMapping(_Strict):
    """Write a value of the run itself (sync id, run id, row operation) into a field."""

    type: Literal["variable"]
    variable: Variable
    to: str = Field(min_length=1)


class TemplateMapping(_Strict):
    """Render a sandboxed Jinja2 template over the row's columns into a field."""

    type: Literal["template"]
    template: str
    to: str = Field(min_length=1)


def _mapping_type(value: Any) -> str:
    """The mapping's ``type``; a mapping written as just ``{from, to}`` is a standard one."""
    if isinstance(value, dict):
        return str(value.get("type", "standard"))
    return str(getattr(value, "type", "standard"))


Mapping = Annotated[
    Annotated[StandardMapping, Tag("standard")]
    | Annotated[StaticMapping, Tag("static")]
    | Annotated[VariableMapping, Tag("variable")]
    | Annotated[TemplateMapping, Tag("template")],
    Discriminator(
        _mapping_type,
        custom_error_type="invalid_mapping_type",
        custom_error_message="mapping type must be standard, static, variable or template",
    ),
]


class ExternalIdMapping(_Strict):
    """The model column and destination field that match a row to a destination record."""

    from_: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)
    type: Literal["standard"] = "standard"


class DeleteBehavior(StrEnum):
    """What happens to a destination record when its row leaves the model."""

    NOTHING = "nothing"
    CLEAR = "clear"
    DELETE = "delete"


CHOOSE_DELETE_BEHAVIOR = frozenset({SyncMode.UPSERT, SyncMode.UPDATE, SyncMode.ALL})
"""The modes whose removed rows follow ``deleteBehavior``. Mirror always deletes them,
insert and append never touch a record they wrote again."""


class Guards(_Strict):
    """Checks that fail a run before anything is written."""

    max_removed_share: float | None = Field(default=None, alias="maxRemovedShare", ge=0, le=1)
    """Fail when a run would remove more than this share of the previously synced rows."""
    allow_empty: bool = Field(default=False, alias="allowEmpty")
    """Allow a run whose model returned no rows (which could remove every record)."""


class SyncConfiguration(_Strict):
    """A sync's ``configuration`` object, as the API and project files spell it."""

    mode: SyncMode = SyncMode.UPSERT
    object: str = Field(min_length=1)
    mappings: list[Mapping] = Field(default_factory=list)
    external_id_mapping: ExternalIdMapping | None = Field(default=None, alias="externalIdMapping")
    delete_behavior: DeleteBehavior | None = Field(default=None, alias="deleteBehavior")
    """What removed rows do in the modes of :data:`CHOOSE_DELETE_BEHAVIOR`; unset is
    ``nothing``. See :attr:`removed_rows` for what every mode does."""
    guards: Guards = Field(default_factory=Guards)
    create_object: bool = Field(default=True, alias="createObject")
    """Create the destination table from the mapped fields when it does not exist."""

    @field_validator("delete_behavior")
    @classmethod
    def _delete_behavior_fits_the_mode(
        cls, value: DeleteBehavior | None, info: ValidationInfo
    ) -> DeleteBehavior | None:
        """Refuse a ``deleteBehavior`` the mode would not follow, rather than ignore it."""
        mode = info.data.get("mode")
        if value is None or mode is None or mode in CHOOSE_DELETE_BEHAVIOR:
            return value
        if mode is SyncMode.MIRROR and value is DeleteBehavior.DELETE:
            return value  # what mirror does anyway
        if mode is SyncMode.MIRROR:
            message = (
                f"deleteBehavior {str(value)!r} does not apply to mode 'mirror', which "
                "always deletes the records of rows that leave the model"
            )
            fix = (
                "remove deleteBehavior to delete them, or use mode upsert with "
                f"deleteBehavior {str(value)!r} to keep them"
            )
        else:
            message = (
                f"deleteBehavior does not apply to mode {str(mode)!r}, which never changes "
                "or deletes a record it wrote"
            )
            fix = (
                "remove deleteBehavior, or use mode upsert, which follows it for rows that "
                "leave the model"
            )
        raise PydanticCustomError("delete_behavior_mode", message, {"fix": fix})

    @property
    def removed_rows(self) -> DeleteBehavior:
        """What happens to the record of a row that leaves the model, in this mode."""
        if self.mode is SyncMode.MIRROR:
            return DeleteBehavior.DELETE
        if self.mode not in CHOOSE_DELETE_BEHAVIOR:
            return DeleteBehavior.NOTHING
        return self.delete_behavior or DeleteBehavior.NOTHING

    @model_validator(mode="after")
    def _fields_unique(self) -> SyncConfiguration:
        seen: set[str] = set()
        for mapping in self.mappings:
            if mapping.to in seen:
                raise ValueError(f"two mappings write the field {mapping.to!r}; keep one")
            seen.add(mapping.to)
        return self

    @classmethod
    def parse(cls, raw: dict[str, Any], *, where: str = "configuration") -> SyncConfiguration:
        """Validate ``raw``, reporting every problem at once with the key it concerns."""
        try:
            return cls.model_validate(raw)
        except pydantic.ValidationError as exc:
            problems = []
            keys = _configuration_keys()
            for err in exc.errors():
                path = ".".join(str(p) for p in err["loc"])
                # A missing key's "input" is the mapping around it, which is no help.
                found = None if err["type"] == "missing" else err.get("input")
                location = f"{where}.{path}" if path else where
                problems.append(configuration_problem(err, location, found, keys))
            raise ValidationError(problems) from None

    def dump(self) -> dict[str, Any]:
        """The configuration as JSON, with the API's key names.

        Unset options are left out, but a static value of null is kept: it is the value
        to write, and without it the configuration would not parse again.
        """
        dumped = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        for mapping, written in zip(self.mappings, dumped.get("mappings", []), strict=True):
            if isinstance(mapping, StaticMapping):
                written["value"] = mapping.model_dump(mode="json")["value"]
        return dumped


def _configuration_keys() -> dict[str, tuple[str, ...]]:
    """The keys each part of a configuration takes, as written, for problems to suggest."""
    parts: dict[str, type[BaseModel]] = {
        "": SyncConfiguration,
        "guards": Guards,
        "externalIdMapping": ExternalIdMapping,
        "standard": StandardMapping,
        "static": StaticMapping,
        "variable": VariableMapping,
        "template": TemplateMapping,
    }
    return {
        name: tuple(info.alias or field for field, info in model.model_fields.items())
        for name, model in parts.items()
    }
