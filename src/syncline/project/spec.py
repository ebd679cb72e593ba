"""The resources a project declares, each remembering the file and line it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from syncline.errors import Problem
from syncline.numerals import number_or_text
from syncline.project.yamlfile import Document, Path_, render_path


@dataclass(frozen=True)
class Origin:
    """Where a resource was declared."""

    file: str
    line: int | None
    path: Path_ = ()
    """Where the resource sits in its file, e.g. ``("syncs", 0)``."""
    document: Document | None = field(default=None, compare=False, repr=False)
    """The file it was read from, which knows the line of every key below it."""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    @property
    def location(self) -> str:
        """The path spelt as ``syncline validate`` spells it, e.g. ``syncs[0].mode``."""
        return render_path(self.path)

    def at(self, inside: Path_) -> Origin:
        """The origin of the key or item at ``inside`` the resource, on its own line."""
        where = (*self.path, *inside)
        line = self.document.line(where) if self.document is not None else self.line
        return Origin(self.file, line, where, self.document)

    def below(self, problem: Problem) -> Problem:
        """``problem``, found at a dotted location inside the resource (as
        ``configuration.mappings.0.from``), placed at its own line and spelt as
        ``syncline validate`` spells it (``syncs[0].configuration.mappings[0].from``)."""
        inside = tuple(number_or_text(p) for p in problem.location.split(".") if p)
        at = self.at(inside)
        return Problem(at.location, problem.message, problem.fix, at.file, at.line)


@dataclass(frozen=True)
class ConnectionSpec:
    """A source or destination: a connector type and its configuration."""

    slug: str
    name: str
    type: str
    configuration: dict[str, Any]
    origin: Origin
    alerts: dict[str, Any] | None = None
    """A destination's alert policy (see :mod:`syncline.alerts.policy`), the syncs' default."""


@dataclass(frozen=True)
class ModelSpec:
    """A query (raw SQL or a table) on a source, with its primary key."""

    slug: str
    name: str
    source: str
    """Slug of the source."""
    primary_key: str
    sql: str | None
    table: str | None
    description: str
    tags: dict[str, str]
    origin: Origin

    @property
    def query_type(self) -> str:
        """``raw_sql`` or ``table``, as the API spells it."""
        return "raw_sql" if self.sql is not None else "table"


@dataclass(frozen=True)
class SyncSpec:
    """A sync of a model into a destination."""

    slug: str
    model: str
    """Slug of the model."""
    destination: str
    """Slug of the destination."""
    configuration: dict[str, Any]
    """The validated configuration, as the API spells it."""
    schedule: dict[str, Any] | None
    disabled: bool
    tags: dict[str, str]
    origin: Origin
    alerts: dict[str, Any] | None = None
    """The sync's own alert policy, laid over its destination's."""


@dataclass(frozen=True)
class SequenceStepSpec:
    """One step of a sequence: a sync, and the outcome of its run that ends the sequence."""

    sync: str
    """Slug of the sync."""
    stop_on: str
    """``fatal``, ``fatal_or_rejected`` or ``never``."""


@dataclass(frozen=True)
class SequenceSpec:
    """A sync sequence: syncs run one after another."""

    slug: str
    name: str
    steps: tuple[SequenceStepSpec, ...]
    schedule: dict[str, Any] | None
    disabled: bool
    origin: Origin


@dataclass
class Project:
    """Every resource of a project folder, validated and cross-checked."""

    root: str
    workspace: str = "default"
    sources: dict[str, ConnectionSpec] = field(default_factory=dict)
    models: dict[str, ModelSpec] = field(default_factory=dict)
    destinations: dict[str, ConnectionSpec] = field(default_factory=dict)
    syncs: dict[str, SyncSpec] = field(default_factory=dict)
    sequences: dict[str, SequenceSpec] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    """Things that work but are likely mistakes, e.g. two syncs writing one object."""
