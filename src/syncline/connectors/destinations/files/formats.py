"""The three file formats: how a batch is encoded, how a file is read back and written.

Each format has a *form*: the Arrow table a file's records are merged in. CSV's form
is all text (exactly the cells of the file), JSON Lines' form is one column of JSON
object texts (exactly the lines), Parquet's form is the typed records. Ids are always
taken from the form by the same function on both sides, so a record in the file and a
row in a batch match when their ids read the same.
"""

from __future__ import annotations

import csv
import io
from abc import ABC, abstractmethod
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from syncline.connectors.destinations.base import ObjectField
from syncline.connectors.destinations.decimals import decimal_text
from syncline.connectors.destinations.files.overlay import overlay_columns, overlay_lines
from syncline.connectors.destinations.files.spec import CSVConfig, ParquetConfig
from syncline.connectors.destinations.files.values import query_arrow, to_json_rows, to_text
from syncline.connectors.destinations.sql.durations import duration_text
from syncline.errors import TerminalError

LINE = "line"
"""The one column of JSON Lines' form."""


@dataclass(frozen=True)
class Encoded:
    """A batch in a format's form, and the rows that could not be encoded."""

    form: pa.Table
    rejected: dict[int, str] = field(default_factory=dict)


_COMMON_DELIMITERS = ",;\t|"
"""Delimiters a file without a header is tried with when it reads as one field per line."""


def _unreadable(path: Path, kind: str, exc: Exception) -> TerminalError:
    return TerminalError(
        f"file {str(path)!r} cannot be read as {kind} ({exc}); move it away or restore "
        "it, and the next run starts a new one",
        connector="files",
    )


def _joined(values: pa.Array) -> bytes:
    """All strings of ``values`` (no NULLs) concatenated, without a Python loop over rows."""
    if len(values) == 0:
        return b""
    # The values of a string array sit back to back in its data buffer, so the
    # concatenation is the slice between the first and the last offset.
    text = values.cast(pa.large_string())
    _, offsets_buffer, data_buffer = text.buffers()
    offsets = pa.Array.from_buffers(
        pa.int64(), len(text) + 1, [None, offsets_buffer], offset=text.offset
    )
    first, last = offsets[0].as_py(), offsets[len(text)].as_py()
    data: bytes = data_buffer[first:last].to_pybytes()
    return data


class FileFormat(ABC):
    """One file format: encode a batch, read a file's records, write or append them."""

    name: str
    appendable: bool
    """True when rows can be added to the end of a file without rewriting it."""
    nameless: bool = False
    """True when a file does not name its columns, so their order is recorded apart."""

    @abstractmethod
    def encode(self, records: pa.Table) -> Encoded:
        """The batch's records in this format's form."""

    @abstractmethod
    def ids(self, form: pa.Table, id_field: str) -> pa.Array:
        """The id of every record of ``form``, as strings."""

    @abstractmethod
    def read(self, path: Path, names: list[str]) -> pa.Table:
        """A file's records in this format's form; ``names`` are the sync's fields."""

    @abstractmethod
    def write(self, form: pa.Table, sink: BinaryIO) -> None:
        """Write ``form`` as a whole file."""

    def fields_of(self, path: Path) -> list[ObjectField] | None:
        """The fields an existing file declares, or None when its format declares none."""
        return None

    def one_field_cause(self) -> str:
        """The likely cause, with its fix, of a file without a header read as one field
        per line where the sync has several; empty when the format knows of none."""
        return ""

    def append_bytes(self, form: pa.Table, *, new_file: bool) -> bytes:
        """The bytes that add ``form``'s records to the end of a file."""
        raise NotImplementedError(f"{self.name} files cannot be appended to")

    def updated(
        self, old: pa.Table, new: pa.Table, mapped: Collection[str], *, file_name: str
    ) -> pa.Table:
        """Changed records: ``new``'s ``mapped`` fields, and ``old``'s other fields as they were.

        ``old`` and ``new`` are aligned and hold the same records in the same order.
        """
        return overlay_columns(old, new, mapped)

    def align(self, existing: pa.Table, batch: pa.Table) -> tuple[pa.Table, pa.Table]:
        """Both tables with the same columns: the batch's first, then the file's extras."""
        names = list(batch.schema.names) + [
            n for n in existing.schema.names if n not in batch.schema.names
        ]
        types = {f.name: f.type for f in existing.schema} | {f.name: f.type for f in batch.schema}
        schema = pa.schema([_field_of(batch, existing, n, types[n]) for n in names])
        return _conform(existing, schema), _conform(batch, schema)


def _field_of(batch: pa.Table, existing: pa.Table, name: str, kind: pa.DataType) -> pa.Field:
    source = batch.schema if name in batch.schema.names else existing.schema
    return source.field(name).with_type(kind)


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    columns = []
    for target in schema:
        if target.name not in table.schema.names:
            columns.append(pa.nulls(table.num_rows, target.type))
            continue
        column = table.column(target.name)
        try:
            columns.append(_converted(column, target.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise TerminalError(
                f"field {target.name!r} was {column.type} in the file and is {target.type} "
                f"now, and the old values cannot be converted ({exc}); move the file away "
                "so the next run starts a new one",
                connector="files",
            ) from None
    return pa.table(columns, schema=schema)


def _converted(column: pa.ChunkedArray, kind: pa.DataType) -> pa.ChunkedArray:
    """``column`` as ``kind``; every value must fit, none is rounded or cut.

    Arrow refuses to cast integers or decimals to a decimal narrower than the widest
    value the old type could hold, though the values at hand fit: they go through the
    widest decimal of the new scale, which the narrowing then checks value by value.
    """
    old = column.type
    if not pa.types.is_decimal(kind) or not (pa.types.is_integer(old) or pa.types.is_decimal(old)):
        return column.cast(kind)
    try:
        return column.cast(kind)
    except pa.ArrowInvalid:
        wide = kind.bit_width > 128
        widest = pa.decimal256(76, kind.scale) if wide else pa.decimal128(38, kind.scale)
        return column.cast(widest).cast(kind)


class CSVFormat(FileFormat):
    """CSV: every non-NULL value quoted, NULL an empty field without quotes.

    So ``""`` is the empty string and an empty field is NULL, as PostgreSQL's
    ``COPY ... CSV`` reads them (pyarrow: ``quoted_strings_can_be_null=False``).
    """

    name = "CSV"
    appendable = True

    def __init__(self, config: CSVConfig) -> None:
        self.delimiter = config.delimiter
        self.header = config.header
        self.nameless = not config.header

    def encode(self, records: pa.Table) -> Encoded:
        """Every value as its text, per :mod:`.values`."""
        return Encoded(to_text(records))

    def ids(self, form: pa.Table, id_field: str) -> pa.Array:
        """The id column itself: it already holds the text of each id."""
        if id_field not in form.column_names:
            return pa.nulls(form.num_rows, pa.string())
        return form.column(id_field).combine_chunks()

    def one_field_cause(self) -> str:
        """Another destination of the file, writing it with another delimiter."""
        return (
            "; read with delimiter "
            f"{self.delimiter!r} the file has one field per line, so it was likely written "
            "with another delimiter: give every destination of the file the same one"
        )

    def _refuse_other_delimiter(self, path: Path, fields: int) -> None:
        """Refuse a file without a header whose first line is one field with this delimiter
        but several (at most ``fields``) with another common one: another destination
        writes it so, and reading it as one field would rewrite every record changed."""
        with open(path, newline="", encoding="utf-8") as source:
            line = source.readline()
        for other in _COMMON_DELIMITERS.replace(self.delimiter, ""):
            if 1 < len(next(csv.reader([line], delimiter=other), [])) <= fields:
                raise TerminalError(
                    f"file {str(path)!r} has no header, and its lines are one field with "
                    f"delimiter {self.delimiter!r} but several with {other!r}: another "
                    f"destination likely writes it with delimiter {other!r}; give every "
                    "destination of the file the same delimiter, or move the file away",
                    connector="csv",
                )

    def _header(self, path: Path) -> list[str]:
        with open(path, newline="", encoding="utf-8") as source:
            return next(csv.reader(source, delimiter=self.delimiter), [])

    def read(self, path: Path, names: list[str]) -> pa.Table:
        """The file's cells as text, NULL and empty string kept apart."""
        if path.stat().st_size == 0:
            return pa.table({n: pa.array([], pa.string()) for n in names})

        # Without a header, ``names`` are the columns as recorded when the file was
        # written, or the sync's fields: the file holds the first ones, in that order.
        first = self._header(path)
        if not self.header and len(first) == 1 and len(names) > 1:
            self._refuse_other_delimiter(path, len(names))
        columns = first if self.header else names[: len(first)]
        if len(set(columns)) != len(columns):
            raise _unreadable(path, "CSV", ValueError("the header repeats a column name"))
        try:
            return pa_csv.read_csv(
                path,
                read_options=pa_csv.ReadOptions(
                    column_names=columns, skip_rows=1 if self.header else 0
                ),
                parse_options=pa_csv.ParseOptions(
                    delimiter=self.delimiter, newlines_in_values=True
                ),
                convert_options=pa_csv.ConvertOptions(
                    column_types={n: pa.string() for n in columns},
                    null_values=[""],
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=False,
                ),
            )
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise _unreadable(path, "CSV", exc) from None

    def align(self, existing: pa.Table, batch: pa.Table) -> tuple[pa.Table, pa.Table]:
        """With a header, as any format; without, the file's columns first, in its order.

        A file without a header cannot tell a reader that its columns moved, so its
        columns stay where they are and a new field is added at the end.
        """
        if self.header:
            return super().align(existing, batch)
        fields = list(existing.schema) + [
            f for f in batch.schema if f.name not in existing.schema.names
        ]
        schema = pa.schema([f.with_type(pa.string()) for f in fields])
        return _conform(existing, schema), _conform(batch, schema)

    def header_of(self, path: Path) -> list[str] | None:
        """The names in an existing file's header line, or None without a header."""
        if not self.header or not path.exists() or path.stat().st_size == 0:
            return None
        return self._header(path)

    def fields_of(self, path: Path) -> list[ObjectField] | None:
        """The header's names; every CSV cell is text."""
        try:
            names = self.header_of(path)
        except UnicodeDecodeError as exc:
            raise _unreadable(path, "CSV", exc) from None
        return None if names is None else [ObjectField(name, "text") for name in names]

    def _options(self, header: bool) -> pa_csv.WriteOptions:
        return pa_csv.WriteOptions(
            include_header=header, delimiter=self.delimiter, quoting_style="all_valid"
        )

    def write(self, form: pa.Table, sink: BinaryIO) -> None:
        """The whole file, header first when configured."""
        # pyarrow 26 writes kilobytes of NUL bytes for an empty first chunk when the
        # header is off; one chunk per column avoids it.
        pa_csv.write_csv(form.combine_chunks(), sink, self._options(self.header))

    def append_bytes(self, form: pa.Table, *, new_file: bool) -> bytes:
        """The records' lines, preceded by the header when the file is new."""
        buffer = io.BytesIO()
        header = self.header and new_file
        pa_csv.write_csv(form.combine_chunks(), buffer, self._options(header))
        return buffer.getvalue()


class JSONLinesFormat(FileFormat):
    """JSON Lines: one JSON object per line, UTF-8, each line ended by a newline."""

    name = "JSON Lines"
    appendable = True

    def encode(self, records: pa.Table) -> Encoded:
        """One JSON object text per row; rows with invalid JSON values are refused."""
        rendered = to_json_rows(records)
        return Encoded(pa.table({LINE: rendered.lines}), rendered.invalid)

    def ids(self, form: pa.Table, id_field: str) -> pa.Array:
        """The id member of every line, as text."""
        path = '$."' + id_field.replace('"', '\\"') + '"'
        result = query_arrow(
            "SELECT json_extract_string(line, ?) AS id FROM t", t=form, args=[path]
        )
        return result.column(0).combine_chunks()

    def read(self, path: Path, names: list[str]) -> pa.Table:
        """The file's lines, byte for byte."""
        if path.stat().st_size == 0:
            return pa.table({LINE: pa.array([], pa.string())})
        try:
            # A raw control character cannot occur in JSON text, so splitting on one
            # that never appears reads each line whole, with no quoting rules at all.
            return pa_csv.read_csv(
                path,
                read_options=pa_csv.ReadOptions(column_names=[LINE]),
                parse_options=pa_csv.ParseOptions(
                    delimiter="\x1f", quote_char=False, escape_char=False
                ),
                convert_options=pa_csv.ConvertOptions(
                    column_types={LINE: pa.string()}, strings_can_be_null=False
                ),
            )
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise _unreadable(path, "JSON Lines", exc) from None

    def write(self, form: pa.Table, sink: BinaryIO) -> None:
        """Every line followed by a newline."""
        sink.write(self.append_bytes(form, new_file=True))

    def append_bytes(self, form: pa.Table, *, new_file: bool) -> bytes:
        """Every line followed by a newline."""
        lines = form.column(LINE).combine_chunks()
        if len(lines) == 0:
            return b""
        return _joined(pc.binary_join_element_wise(lines, "", "\n"))

    def align(self, existing: pa.Table, batch: pa.Table) -> tuple[pa.Table, pa.Table]:
        """Lines are lines: nothing to align."""
        return existing, batch

    def updated(
        self, old: pa.Table, new: pa.Table, mapped: Collection[str], *, file_name: str
    ) -> pa.Table:
        """Each new line, followed by the members of its old line that the sync does not map."""
        lines = overlay_lines(old.column(LINE), new.column(LINE), file_name=file_name)
        return pa.table({LINE: lines}, schema=old.schema)


class ParquetFormat(FileFormat):
    """Parquet: typed columns as the model returned them, field metadata kept."""

    name = "Parquet"
    appendable = False

    def __init__(self, config: ParquetConfig) -> None:
        self.compression = config.compression

    def encode(self, records: pa.Table) -> Encoded:
        """The records as they are, calendar intervals as ISO 8601 text.

        Parquet has no type for months, days and nanoseconds together (its INTERVAL
        holds milliseconds). Infinite dates and timestamps keep the values DuckDB reads
        as ``infinity``.
        """
        for index, spec in enumerate(records.schema):
            if pa.types.is_interval(spec.type):
                text = pa.field(spec.name, pa.string(), metadata=spec.metadata)
                records = records.set_column(index, text, duration_text(records.column(index)))
        return Encoded(records)

    def ids(self, form: pa.Table, id_field: str) -> pa.Array:
        """The id column cast to text, decimals spelled as in CSV and JSON Lines."""
        if id_field not in form.column_names:
            return pa.nulls(form.num_rows, pa.string())
        column = form.column(id_field)
        if pa.types.is_decimal(column.type):
            return decimal_text(column)
        return column.cast(pa.string()).combine_chunks()

    def read(self, path: Path, names: list[str]) -> pa.Table:
        """The whole file."""
        try:
            return pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise _unreadable(path, "Parquet", exc) from None

    def fields_of(self, path: Path) -> list[ObjectField] | None:
        """The file's schema, read from its footer alone, with the Arrow type names."""
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise _unreadable(path, "Parquet", exc) from None
        return [ObjectField(f.name, str(f.type)) for f in schema]

    def write(self, form: pa.Table, sink: BinaryIO) -> None:
        """The whole file with the configured codec."""
        pq.write_table(form, sink, compression=self.compression)
