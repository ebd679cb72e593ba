"""The model's rows of one run, kept on disk in an Arrow IPC file and fetched by position.

DuckDB needs every column of a model row to fingerprint it, but only the planned rows
(the changes) need their columns again. Keeping the columns out of DuckDB's tables
keeps the planner's tables narrow (key, fingerprint, position), so they fit its memory
cap; the file is written once, sequentially, as the rows stream in, and read back
one record batch at a time, so memory stays bounded whatever the model's size.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

logger = logging.getLogger(__name__)

_PREFIX = "rows-"


class RowFile:
    """The rows of one run, appended batch by batch, then taken back by row position."""

    def __init__(self, schema: pa.Schema, folder: Path | None, *, label: str) -> None:
        self.schema = schema
        prefix = f".{_PREFIX}{label}-"
        self._folder = Path(tempfile.mkdtemp(prefix=prefix, dir=folder))
        self._path = self._folder / "rows.arrow"
        self._sink = pa.OSFile(str(self._path), "wb")
        self._writer: pa.ipc.RecordBatchFileWriter | None = pa.ipc.new_file(self._sink, schema)
        self._starts: list[int] = []
        self.size = 0
        self._reader: pa.ipc.RecordBatchFileReader | None = None
        self._source: pa.OSFile | None = None
        self._cached: tuple[int, pa.RecordBatch] | None = None

    def append(self, batch: pa.RecordBatch) -> int:
        """Write ``batch``; return the position of its first row."""
        if self._writer is None:
            raise RuntimeError("RowFile.append() after the file was finished")
        first = self.size
        if batch.num_rows:
            self._writer.write_batch(batch)
            self._starts.append(first)
            self.size += batch.num_rows
        return first

    def finish(self) -> None:
        """Close the file for writing and open it for reading."""
        if self._writer is not None:
            self._writer.close()
            self._sink.close()
            self._writer = None
        if self._reader is None:
            self._source = pa.OSFile(str(self._path), "rb")
            self._reader = pa.ipc.open_file(self._source)

    def take(self, positions: pa.Array) -> pa.Table:
        """The rows at ``positions`` (in that order); a NULL position gives a row of NULLs."""
        self.finish()
        count = len(positions)
        wanted = positions.drop_null()
        if len(wanted) == 0:
            return pa.table(
                [pa.nulls(count, field.type) for field in self.schema], schema=self.schema
            )

        order = pc.sort_indices(wanted)
        ordered = self._gather(wanted.take(order))
        # The inverse of a permutation is its sort order: back to the order asked for.
        inverse = pc.sort_indices(order)
        if not positions.null_count:
            return ordered.take(inverse)

        # A NULL position takes a NULL index, which gives a row of NULLs.
        valid = positions.is_valid()
        ranks = pc.subtract(pc.cumulative_sum(valid.cast(pa.int64())), 1)
        ranks = pc.max_element_wise(ranks, 0)
        indices = pc.if_else(valid, inverse.take(ranks), pa.scalar(None, pa.uint64()))
        return ordered.take(indices)

    def batches(self, columns: list[str]) -> Iterator[pa.RecordBatch]:
        """Every row's ``columns``, front to back, one stored batch at a time."""
        self.finish()
        assert self._reader is not None
        for index in range(self._reader.num_record_batches):
            yield self._reader.get_batch(index).select(columns)

    def _gather(self, ascending: pa.Array) -> pa.Table:
        """The rows at sorted ``ascending`` positions, reading each batch at most once."""
        pieces: list[pa.RecordBatch] = []
        lo = 0
        ends = [*self._starts[1:], self.size]
        for index, (start, end) in enumerate(zip(self._starts, ends, strict=True)):
            hi = _first_at_least(ascending, end, lo)
            if hi > lo:
                offsets = pc.subtract(ascending.slice(lo, hi - lo), start)
                pieces.append(self._batch(index).take(offsets))
            lo = hi
            if lo == len(ascending):
                break
        return pa.Table.from_batches(pieces, schema=self.schema)

    def _batch(self, index: int) -> pa.RecordBatch:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        assert self._reader is not None
        batch = self._reader.get_batch(index)
        self._cached = (index, batch)
        return batch

    def close(self) -> None:
        """Delete the file."""
        self._cached = None
        self._reader = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        for handle in (self._sink, self._source):
            if handle is not None and not handle.closed:
                handle.close()
        shutil.rmtree(self._folder, ignore_errors=True)


def remove_stale(folder: Path, label: str) -> None:
    """Delete row files a killed run of ``label`` left in ``folder``."""
    if not folder.is_dir():
        return
    for stale in folder.glob(f".{_PREFIX}{label}-*"):
        logger.info("removing %s, left by a run that did not finish", stale)
        shutil.rmtree(stale, ignore_errors=True)


def _first_at_least(ascending: pa.Array, value: int, lo: int) -> int:
    """Index of the first item of sorted ``ascending`` at or after ``lo`` that is >= value."""
    hi = len(ascending)
    while lo < hi:
        middle = (lo + hi) // 2
        if ascending[middle].as_py() < value:
            lo = middle + 1
        else:
            hi = middle
    return lo
