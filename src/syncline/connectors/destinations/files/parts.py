"""A per-run Parquet file, written as one part file per batch and published as one file.

Parquet cannot be appended to once its footer is written, and a file without a footer
is unreadable. So each acknowledged batch becomes a complete part file in the sync's
state folder, and the run's file is assembled from the parts when the run ends. If the
process dies first, the parts stay valid and the next run of the sync publishes them
as that earlier run's file, holding exactly the rows that were acknowledged.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from syncline.connectors.destinations.files.durable import fsync_directory, replace_atomically

logger = logging.getLogger(__name__)

_TARGET = "target.json"


class PartStore:
    """The parts of one run's Parquet file, in ``<state>/parts/run-<run_id>``."""

    def __init__(self, root: Path, run_id: int, target: Path) -> None:
        self.root = root
        self.folder = root / f"run-{run_id}"
        self.target = target
        self.count = 0

    def add(self, table: pa.Table, compression: str) -> None:
        """Write ``table`` as the next part, durably."""
        if self.count == 0:
            self.folder.mkdir(parents=True, exist_ok=True)
            body = json.dumps({"path": str(self.target.resolve())}).encode()
            marker = self.folder / _TARGET
            replace_atomically(marker, marker.with_suffix(".tmp"), lambda s: s.write(body))
            fsync_directory(self.folder.parent)

        part = self.folder / f"part-{self.count + 1:06d}.parquet"
        try:
            replace_atomically(
                part,
                part.with_suffix(".tmp"),
                lambda sink: pq.write_table(table, sink, compression=compression),
            )
        except OSError:
            # The part may be in place though the write failed (its folder not synced),
            # but its batch is not acknowledged: the part goes, and a retry of the batch
            # writes it again under the same name.
            part.unlink(missing_ok=True)
            raise
        self.count += 1

    def publish(self, schema: pa.Schema | None, compression: str, temp: Path) -> int:
        """Assemble the parts into the target file and remove them; returns the rows.

        ``schema`` is the file's schema when there are no parts; otherwise the first
        part's schema is used, metadata included.
        """
        return _assemble(self.folder, self.target, schema, compression, temp)

    @classmethod
    def recover(
        cls,
        root: Path,
        compression: str,
        temp_for: Callable[[Path], Path],
        refuse: Callable[[Path], str | None] | None = None,
    ) -> list[Path]:
        """Publish the parts that interrupted runs left behind; returns the files made.

        The folder names its target file by path: one ``refuse`` gives a reason for
        (it leads outside the allowed folders) is dropped with a warning, unpublished.
        """
        if not root.is_dir():
            return []

        made: list[Path] = []
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            marker = folder / _TARGET
            if not marker.exists():
                shutil.rmtree(folder)
                continue
            target = Path(json.loads(marker.read_text())["path"])
            reason = refuse(target) if refuse is not None else None
            if reason is not None:
                logger.warning("dropped the parts in %s unpublished: %s", folder, reason)
                shutil.rmtree(folder)
                continue
            rows = _assemble(folder, target, None, compression, temp_for(target))
            logger.warning(
                "published %s with the %d acknowledged rows of an interrupted run",
                target,
                rows,
            )
            made.append(target)
        return made


def _assemble(
    folder: Path, target: Path, schema: pa.Schema | None, compression: str, temp: Path
) -> int:
    parts = sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []
    if schema is None:
        schema = pq.read_schema(parts[0]) if parts else pa.schema([])

    rows = 0

    def write(sink: object) -> None:
        nonlocal rows
        with pq.ParquetWriter(sink, schema, compression=compression) as writer:
            for part in parts:
                table = pq.read_table(part)
                writer.write_table(table.cast(schema))
                rows += table.num_rows

    target.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(target, temp, write)
    if folder.is_dir():
        shutil.rmtree(folder)
    return rows
