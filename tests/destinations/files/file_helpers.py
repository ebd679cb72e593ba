"""Helpers of the file destination tests: contexts, batches, runs and readers."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from syncline.connectors.destinations.base import (
    BatchResult,
    Destination,
    FieldSpec,
    SyncMode,
    WriteAction,
    WriteBatch,
    WriteContext,
)
from syncline.connectors.destinations.files import (
    CSVDestination,
    JSONLinesDestination,
    ParquetDestination,
)

SCHEMA = pa.schema([pa.field("id", pa.int64()), pa.field("name", pa.string())])


def context(
    name: str,
    mode: SyncMode,
    *,
    schema: pa.Schema = SCHEMA,
    sync_id: int = 7,
    run_id: int = 1,
) -> WriteContext:
    """A write context whose fields are ``schema``'s, keyed by ``id``."""
    fields = tuple(FieldSpec(f.name, f.type) for f in schema)
    return WriteContext(
        sync_id=sync_id, run_id=run_id, object=name, mode=mode, id_field="id", fields=fields
    )


def batch(
    action: WriteAction, rows: Sequence[dict[str, Any]], schema: pa.Schema = SCHEMA
) -> WriteBatch:
    """A batch of ``rows``; a DELETE batch carries only the id field."""
    if action == WriteAction.DELETE:
        schema = pa.schema([schema.field("id")])
        rows = [{"id": r["id"]} for r in rows]
    table = pa.Table.from_pylist(list(rows), schema=schema)
    return WriteBatch(action, table, [str(r["id"]) for r in rows])


def run(
    destination: Destination, ctx: WriteContext, batches: Sequence[WriteBatch]
) -> list[BatchResult]:
    """One whole run: open, every batch, finish, close."""
    destination.open(ctx)
    try:
        results = [destination.write_batch(b) for b in batches]
        destination.finish()
    finally:
        destination.close()
    return results


def read_csv_text(path: Path) -> list[dict[str, str | None]]:
    """A CSV file's cells as text, NULL (empty unquoted) apart from '' (quoted)."""
    table = pa_csv.read_csv(
        path,
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types={n: pa.string() for n in _csv_header(path)},
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    return table.to_pylist()


def _csv_header(path: Path) -> list[str]:
    first = path.read_text().splitlines()[0]
    return [cell.strip('"') for cell in first.split(",")]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """A JSON Lines file's objects; every line must be valid JSON."""
    return [json.loads(line) for line in path.read_text().splitlines()]


def read_records(kind: str, path: Path) -> list[dict[str, Any]]:
    """A file's records with ids and names as Python values, whatever the format."""
    if kind == "csv":
        return [
            {k: (int(v) if k == "id" and v is not None else v) for k, v in row.items()}
            for row in read_csv_text(path)
        ]
    if kind == "jsonl":
        return read_jsonl(path)
    return pq.read_table(path).to_pylist()


FORMATS: dict[str, Callable[[Path], Destination]] = {
    "csv": lambda d: CSVDestination.from_config({"directory": str(d)}),
    "jsonl": lambda d: JSONLinesDestination.from_config({"directory": str(d)}),
    "parquet": lambda d: ParquetDestination.from_config({"directory": str(d)}),
}


ROOT_ROWS = [{"id": 1, "name": "ada"}, {"id": 2, "name": "bob"}]
"""Two plain records most tests start from."""
