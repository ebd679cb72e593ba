"""Field mappings: turn planned model rows into destination records, batch by batch.

A mapping writes one destination field from a model column (``standard``), a
constant (``static``), a value of the run (``variable``) or a sandboxed Jinja2
template over the row's columns (``template``). A template that fails on one row
rejects that row only; the run goes on.
"""

from __future__ import annotations

import decimal
import functools
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from syncline.connectors.destinations.base import FieldSpec
from syncline.connectors.destinations.floats import INFINITY, NAN, NEGATIVE_INFINITY
from syncline.connectors.sources.base import LOGICAL_TYPE_KEY, is_decimal_field
from syncline.connectors.sources.infinity import infinite, infinity_text, python_values
from syncline.engine.canonical import is_json_canonical
from syncline.engine.config import (
    StandardMapping,
    StaticMapping,
    SyncConfiguration,
    TemplateMapping,
    Variable,
    VariableMapping,
)
from syncline.engine.report import Operation
from syncline.errors import ConfigError, UserError

# Jinja2 is imported by the first template mapping: a sync without one never loads it.
if TYPE_CHECKING:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

logger = logging.getLogger(__name__)


@functools.cache
def _null(column: str) -> jinja2.Undefined:
    """How a NULL column reads in a template: empty text, falsy, and what ``default``
    replaces (``{{ plan | default('free') }}``); arithmetic on it fails the row, naming
    the column. Python's None would print as the word "None"."""
    import jinja2

    return jinja2.Undefined(hint=f"column {column!r} is NULL in this row", name=column)


def _environment() -> SandboxedEnvironment:
    """The one sandboxed Jinja2 environment every template mapping is parsed in."""
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)


def template_variables(template: str, *, field: str = "?") -> set[str]:
    """Names a template reads from the row (undeclared variables of its Jinja2 AST).

    Raises:
        ConfigError: the template does not parse, or names a filter or test the sandbox
            does not have (Jinja2 finds those only when it compiles the template).
    """
    import jinja2
    import jinja2.meta

    try:
        ast = _environment().parse(template)
        return set(jinja2.meta.find_undeclared_variables(ast))
    except jinja2.TemplateSyntaxError as exc:
        raise _invalid(exc, field) from None


def compile_template(template: str, *, field: str = "?") -> jinja2.Template:
    """The template compiled in the engine's sandbox.

    Raises:
        ConfigError: as :func:`template_variables` does, also for a filter or test that
            Jinja2 would look up only when rendering (inside a condition).
    """
    import jinja2

    environment = _environment()
    try:
        unknown = unknown_filters_and_tests(environment, template)
        if unknown:
            raise ConfigError(
                f"the template of field {field!r} uses {unknown[0]}, which Jinja2 does not "
                "have; use a filter or test Jinja2 has, e.g. upper, lower, trim, default"
            )
        return environment.from_string(template)
    except jinja2.TemplateSyntaxError as exc:
        raise _invalid(exc, field) from None


def unknown_filters_and_tests(environment: jinja2.Environment, template: str) -> list[str]:
    """The filters and tests ``template`` names that ``environment`` does not have, as
    ``filter 'x'`` or ``test 'y'``.

    Compiling finds most of them, but not those inside a condition (``a if b else c``,
    ``{% if x is y %}``), which Jinja2 looks up only when it renders that branch: every
    row would then be rejected at run time.

    Raises:
        jinja2.TemplateSyntaxError: the template does not parse.
    """
    from jinja2 import nodes

    unknown = []
    for node in environment.parse(template).find_all((nodes.Filter, nodes.Test)):
        is_filter = isinstance(node, nodes.Filter)
        known = environment.filters if is_filter else environment.tests
        if node.name not in known:
            unknown.append(f"{'filter' if is_filter else 'test'} {node.name!r}")
    return unknown


def sandbox_refusals(environment: jinja2.Environment, template: str) -> list[tuple[str, str]]:
    """What ``template`` does that the sandbox refuses on every row, found without
    rendering: each as what it uses and the fix.

    The sandbox has no files, so ``{% include %}``, ``{% import %}`` and ``{% extends %}``
    always fail; it refuses Python's own attributes (``lipsum.__globals__``), the way
    out of a sandbox. Other names starting with ``_`` are left alone: on a mapping
    they read its key (``payload._id``).

    Raises:
        jinja2.TemplateSyntaxError: the template does not parse.
    """
    from jinja2 import nodes

    files = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)
    refused = []
    for node in environment.parse(template).find_all((*files, nodes.Getattr)):
        if isinstance(node, files):
            tag = _FILE_TAGS[type(node).__name__]
            refused.append((f"{{% {tag} %}}", "write the text into the template itself"))
        elif isinstance(node, nodes.Getattr) and _python_own(node.attr):
            fix = "read the row's columns with filters such as upper or default only"
            refused.append((f"the attribute {node.attr!r}", fix))
    return refused


def _python_own(name: str) -> bool:
    """Whether ``name`` is one of Python's own attributes (``__class__``, ``__globals__``)."""
    return name.startswith("__") and name.endswith("__")


_FILE_TAGS = {
    "Include": "include",
    "Import": "import",
    "FromImport": "import",
    "Extends": "extends",
}
"""The statement each Jinja2 node that reads another template is written with."""


def _invalid(exc: jinja2.TemplateSyntaxError, field: str) -> ConfigError:
    return ConfigError(
        f"the template of field {field!r} is not valid Jinja2: {exc.message} "
        f"(line {exc.lineno}); fix the template"
    )


def referenced_columns(
    configuration: SyncConfiguration,
    primary_key: str,
    model_columns: Sequence[str] | None = None,
) -> list[str]:
    """Model columns a sync reads: the key, mapped columns, template variables, external id.

    With no mappings every model column is referenced; pass ``model_columns`` to list
    them, otherwise only the key and external id column are known and returned.
    """
    names = [primary_key]
    if not configuration.mappings and model_columns is not None:
        names.extend(model_columns)
    for mapping in configuration.mappings:
        if isinstance(mapping, StandardMapping):
            names.append(mapping.from_)
        elif isinstance(mapping, TemplateMapping):
            names.extend(sorted(template_variables(mapping.template, field=mapping.to)))
    if configuration.external_id_mapping is not None:
        names.append(configuration.external_id_mapping.from_)
    return list(dict.fromkeys(names))


def repeated_columns_fix(repeated: Sequence[str]) -> str:
    """How to fix a model whose query returns each of ``repeated`` more than once.

    The example renames the first repeated column, so the user sees their own name.
    """
    name = repeated[0]
    return f"give each column its own name in the model's SQL (SELECT {name} AS {name}_2)"


def repeated_columns(model_columns: Sequence[str]) -> list[str]:
    """The names the model's query returns more than once, each once, in query order.

    A row cannot hold two values under one name, so neither the planner nor the
    mapping could tell which of them a sync means.
    """
    counts = Counter(model_columns)
    return [name for name in dict.fromkeys(model_columns) if counts[name] > 1]


def repeated_columns_message(repeated: Sequence[str], model: str) -> str:
    """That ``model`` returns each of ``repeated`` more than once."""
    return (
        f"{model} returns column{'s' if len(repeated) > 1 else ''} "
        f"{', '.join(map(repr, repeated))} more than once"
    )


def check_unique_columns(model_columns: Sequence[str], model: str) -> None:
    """Raise a user error naming each column the model's query returns more than once."""
    repeated = repeated_columns(model_columns)
    if repeated:
        raise UserError(
            f"{repeated_columns_message(repeated, model)}; {repeated_columns_fix(repeated)}",
            code="REPEATED_COLUMN",
        )


def check_columns(referenced: Sequence[str], model_columns: Sequence[str], model: str) -> None:
    """Raise a user error naming every referenced column the model does not return."""
    missing = [name for name in referenced if name not in model_columns]
    if missing:
        listed = ", ".join(model_columns) or "none"
        raise UserError(
            f"column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} "
            f"referenced by the sync {'are' if len(missing) > 1 else 'is'} not in {model} "
            f"(its columns: {listed}); fix the mappings or the model query",
            code="QUERY_COLUMN_MISSING",
        )


def id_field_clash(
    mappings: Sequence[Any], id_column: str, id_field: str
) -> tuple[int, str, str] | None:
    """The index of the mapping that writes ``id_field`` from anything but ``id_column``,
    with the message and the fix; None when no mapping does.

    The field that identifies destination records (the external id, else the primary
    key) is written from its own column; a second writer would send another value as
    the record's identity.
    """
    for index, mapping in enumerate(mappings):
        if mapping.to != id_field:
            continue
        if isinstance(mapping, StandardMapping) and mapping.from_ == id_column:
            return None
        message = (
            f"field {id_field!r} identifies destination records and is written from column "
            f"{id_column!r}, but a mapping also writes it"
        )
        return index, message, "remove that mapping or change externalIdMapping"
    return None


def sync_id_clash(
    configuration: SyncConfiguration, primary_key: str
) -> tuple[int, str, str] | None:
    """:func:`id_field_clash` for a sync's mappings, its model's key being ``primary_key``."""
    external = configuration.external_id_mapping
    id_column = external.from_ if external else primary_key
    id_field = external.to if external else primary_key
    return id_field_clash(configuration.mappings, id_column, id_field)


@dataclass(frozen=True)
class MappedBatch:
    """Destination records for some planned rows, and the rows that could not be mapped."""

    records: pa.Table
    keys: list[str]
    rows: list[int]
    """For each record, its row index in the planned batch."""
    rejected: list[tuple[int, str]]
    """Planned-batch row index and reason of every row that could not be mapped."""


_Producer = Callable[[pa.RecordBatch, Operation], tuple[pa.Array, dict[int, str]]]


class RecordMapper:
    """Builds destination records from planned rows according to a sync's mappings."""

    def __init__(
        self,
        configuration: SyncConfiguration,
        primary_key: str,
        model_schema: pa.Schema,
        *,
        sync_id: int,
        run_id: int,
        key_column: str,
    ) -> None:
        self.configuration = configuration
        self.model_schema = model_schema
        self.sync_id = sync_id
        self.run_id = run_id
        self.key_column = key_column
        external = configuration.external_id_mapping
        self.id_column = external.from_ if external else primary_key
        self.id_field = external.to if external else primary_key
        self._fields: list[FieldSpec] = []
        self._producers: list[_Producer] = []
        self._build()

    @property
    def fields(self) -> tuple[FieldSpec, ...]:
        """Every field written, the id field included, in mapping order."""
        return tuple(self._fields)

    def _build(self) -> None:
        mappings = list(self.configuration.mappings)
        if not mappings:
            mappings = [_standard(name, name) for name in self.model_schema.names]
        writers = {m.to: m for m in mappings}
        if self.id_field not in writers:
            mappings.insert(0, _standard(self.id_column, self.id_field))
        clash = id_field_clash(mappings, self.id_column, self.id_field)
        if clash is not None:
            raise ConfigError("; ".join(clash[1:]))
        for mapping in mappings:
            self._add(mapping)

    def _add(self, mapping: Any) -> None:
        if isinstance(mapping, StandardMapping):
            model_field = self.model_schema.field(mapping.from_)
            arrow_type = model_field.type
            logical = _logical(model_field) if _is_text(arrow_type) else None
            self._fields.append(FieldSpec(mapping.to, _plain_type(arrow_type), logical))
            producer = self._column(mapping.from_, _plain_type(arrow_type))
            if logical == "decimal":
                producer = _special_words(producer)
            self._producers.append(producer)
        elif isinstance(mapping, StaticMapping):
            arrow_type = pa.array([mapping.value]).type
            self._fields.append(FieldSpec(mapping.to, arrow_type))
            self._producers.append(_static(mapping.value, arrow_type))
        elif isinstance(mapping, VariableMapping):
            self._add_variable(mapping)
        elif isinstance(mapping, TemplateMapping):
            names = sorted(template_variables(mapping.template, field=mapping.to))
            template = compile_template(mapping.template, field=mapping.to)
            self._fields.append(FieldSpec(mapping.to, pa.string()))
            self._producers.append(self._template(template, names, mapping.to))

    def _add_variable(self, mapping: VariableMapping) -> None:
        if mapping.variable is Variable.ROW_OPERATION:
            self._fields.append(FieldSpec(mapping.to, pa.string()))
            self._producers.append(
                lambda batch, op: (pa.array([op.value] * batch.num_rows, pa.string()), {})
            )
            return
        value = self.sync_id if mapping.variable is Variable.SYNC_ID else self.run_id
        self._fields.append(FieldSpec(mapping.to, pa.int64()))
        self._producers.append(_static(value, pa.int64()))

    def _column(self, name: str, arrow_type: pa.DataType) -> _Producer:
        def produce(batch: pa.RecordBatch, operation: Operation) -> tuple[pa.Array, dict[int, str]]:
            return _cast(batch.column(name), arrow_type), {}

        return produce

    def _template(self, template: jinja2.Template, names: list[str], field: str) -> _Producer:
        def produce(batch: pa.RecordBatch, operation: Operation) -> tuple[pa.Array, dict[int, str]]:
            columns: dict[str, list[Any]] = {}
            errors: dict[int, str] = {}
            for n in names:
                array = _cast(batch.column(n), _plain_type(self.model_schema.field(n).type))
                columns[n], unreadable = _template_values(array)
                for index in unreadable:
                    errors.setdefault(
                        index,
                        f"template of field {field!r} failed: column {n!r} holds a date or "
                        "time a template cannot read (infinity, or a year outside 1 to 9999); "
                        "map the column with a standard mapping or clamp it in the model query",
                    )
            values: list[str | None] = []
            nulls = {n: _null(n) for n in names}
            for index in range(batch.num_rows):
                if index in errors:
                    values.append(None)
                    continue
                row = {
                    n: nulls[n] if columns[n][index] is None else columns[n][index] for n in names
                }
                try:
                    values.append(template.render(row))
                except Exception as exc:  # noqa: BLE001 - any template failure rejects the row
                    values.append(None)
                    errors[index] = f"template of field {field!r} failed: {_reason(exc)}"
            return pa.array(values, pa.string()), errors

        return produce

    def map_rows(self, batch: pa.RecordBatch, operation: Operation) -> MappedBatch:
        """Records with every mapped field for rows to insert, update or upsert."""
        arrays: list[pa.Array] = []
        errors: dict[int, str] = {}
        for producer in self._producers:
            array, failed = producer(batch, operation)
            arrays.append(array)
            for index, reason in failed.items():
                errors.setdefault(index, reason)
        self._reject_null_ids(batch, errors)
        return self._finish(batch, arrays, errors)

    def map_deletes(self, batch: pa.RecordBatch) -> MappedBatch:
        """Records holding only the id field, for rows to delete."""
        errors: dict[int, str] = {}
        self._reject_null_ids(batch, errors)
        id_type = self._fields[self._id_index()].arrow_type
        arrays = [_cast(batch.column(self.id_column), id_type)]
        fields = [self._fields[self._id_index()]]
        return self._finish(batch, arrays, errors, fields)

    def map_clears(self, batch: pa.RecordBatch) -> MappedBatch:
        """Records with the id and every other mapped field NULL, for rows to clear."""
        errors: dict[int, str] = {}
        self._reject_null_ids(batch, errors)
        id_index = self._id_index()
        arrays = [
            _cast(batch.column(self.id_column), spec.arrow_type)
            if position == id_index
            else pa.nulls(batch.num_rows, spec.arrow_type)
            for position, spec in enumerate(self._fields)
        ]
        return self._finish(batch, arrays, errors)

    def _id_index(self) -> int:
        return next(i for i, spec in enumerate(self._fields) if spec.name == self.id_field)

    def _reject_null_ids(self, batch: pa.RecordBatch, errors: dict[int, str]) -> None:
        ids = batch.column(self.id_column)
        if ids.null_count == 0:
            return
        for index, valid in enumerate(ids.is_valid().to_pylist()):
            if not valid:
                errors.setdefault(
                    index,
                    f"external id column {self.id_column!r} is NULL, so the record cannot be "
                    "matched (NULL_EXTERNAL_ID)",
                )

    def _finish(
        self,
        batch: pa.RecordBatch,
        arrays: list[pa.Array],
        errors: dict[int, str],
        fields: list[FieldSpec] | None = None,
    ) -> MappedBatch:
        specs = fields if fields is not None else self._fields
        schema = pa.schema(
            [
                pa.field(spec.name, array.type, metadata=_metadata(spec))
                for spec, array in zip(specs, arrays, strict=True)
            ]
        )
        records = pa.Table.from_arrays(arrays, schema=schema)
        keys = batch.column(self.key_column).to_pylist()
        rows = list(range(batch.num_rows))
        if errors:
            rows = [i for i in rows if i not in errors]
            records = records.take(pa.array(rows, pa.int64()))
        return MappedBatch(
            records=records,
            keys=[keys[i] for i in rows],
            rows=rows,
            rejected=sorted(errors.items()),
        )


def record_payload(records: pa.Table, index: int) -> str:
    """One record as JSON, as it was sent, for the rejected-row report."""
    row = records.slice(index, 1)
    names, columns = row.column_names, row.columns
    values = {name: _payload_value(column) for name, column in zip(names, columns, strict=True)}
    return json.dumps(values, default=str, ensure_ascii=False, sort_keys=True)


def _payload_value(column: pa.ChunkedArray) -> Any:
    """The one value of ``column`` in Python; what Python cannot hold, as Arrow's text."""
    infinities = infinite(column)
    if infinities is not None:
        return infinity_text(column, infinities)[0].as_py()
    try:
        return column[0].as_py()
    except (OverflowError, ValueError, pa.ArrowException):
        # A year beyond 9999 (or before 1), which datetime cannot hold: Arrow can still
        # write it as text (str() of the scalar would go through Python and fail again).
        return python_values(column.slice(0, 1))[0]


def _template_values(array: pa.Array) -> tuple[list[Any], set[int]]:
    """The values of ``array`` in Python for a template, and the rows Python cannot hold.

    Infinite dates and timestamps, and years beyond 9999 or before 1, have no Python
    value: those rows get None here and are rejected, while every other row renders.
    """
    mask = infinite(array)
    if mask is None:
        try:
            return array.to_pylist(), set()
        except (OverflowError, ValueError, pa.ArrowException):
            pass  # some value is out of Python's range: find which, one by one
    values: list[Any] = []
    unreadable: set[int] = set()
    flags = mask.to_pylist() if mask is not None else [False] * len(array)
    for index, scalar in enumerate(array):
        try:
            values.append(None if flags[index] else scalar.as_py())
        except (OverflowError, ValueError, pa.ArrowException):
            values.append(None)
        if flags[index] or (values[-1] is None and scalar.is_valid):
            unreadable.add(index)
    return values, unreadable


def _standard(column: str, field: str) -> StandardMapping:
    return StandardMapping.model_validate({"from": column, "to": field})


def _static(value: Any, arrow_type: pa.DataType) -> _Producer:
    def produce(batch: pa.RecordBatch, operation: Operation) -> tuple[pa.Array, dict[int, str]]:
        return pa.array([value] * batch.num_rows, arrow_type), {}

    return produce


DECIMAL_WORDS = {"nan": NAN, "inf": INFINITY, "-inf": NEGATIVE_INFINITY}
"""Decimal text's special values as a source may spell them (ADBC's spelling of
PostgreSQL's NUMERIC), and as every destination writes them: as it writes float ones."""


def _special_words(produce: _Producer) -> _Producer:
    """``produce`` with decimal text's special values spelled as float ones are.

    Respelled here, after the planner compared them, so that a row's fingerprint keeps
    the spelling its source reads it in.
    """

    def respelled(batch: pa.RecordBatch, operation: Operation) -> tuple[pa.Array, dict[int, str]]:
        array, errors = produce(batch, operation)
        for spelled, word in DECIMAL_WORDS.items():
            array = pc.if_else(pc.fill_null(pc.equal(array, spelled), False), word, array)
        return array, errors

    return respelled


def _metadata(spec: FieldSpec) -> dict[bytes, bytes] | None:
    if spec.logical is None:
        return None
    return {LOGICAL_TYPE_KEY: spec.logical.encode()}


def _logical(field: pa.Field) -> str | None:
    """The logical type a text model column passes on to the destination's field."""
    if is_decimal_field(field):
        return "decimal"
    return "json" if is_json_canonical(field) else None


def _is_text(arrow_type: pa.DataType) -> bool:
    plain = _plain_type(arrow_type)
    return bool(pa.types.is_string(plain) or pa.types.is_large_string(plain))


def _plain_type(arrow_type: pa.DataType) -> pa.DataType:
    """The type records carry: extension types as their storage, dictionaries decoded."""
    if isinstance(arrow_type, pa.ExtensionType):
        return arrow_type.storage_type
    if pa.types.is_dictionary(arrow_type):
        return arrow_type.value_type
    return arrow_type


def _cast(array: pa.Array | pa.ChunkedArray, arrow_type: pa.DataType) -> pa.Array:
    """Cast a column read back from the planner to the model's own type."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.type.equals(arrow_type):
        return array
    try:
        return array.cast(arrow_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        logger.debug("kept planner type %s instead of model type %s", array.type, arrow_type)
        return array


def _reason(exc: Exception) -> str:
    """A readable reason; decimal errors otherwise print as a list of their signal classes."""
    if isinstance(exc, decimal.DecimalException):
        return re.sub(r"(?<!^)(?=[A-Z])", " ", type(exc).__name__).lower()
    return str(exc) or type(exc).__name__
