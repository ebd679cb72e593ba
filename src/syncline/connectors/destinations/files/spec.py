"""Configuration of the file destinations: the folder, and each format's options."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from syncline.connectors.destinations.base import DestinationConfig


class FileConfig(DestinationConfig):
    """Where a file destination writes; each sync's ``object`` names a file in it."""

    identity_fields: ClassVar[tuple[str, ...]] = ("directory",)
    max_batch_rows: ClassVar[int] = 100_000

    directory: Path
    """Folder that holds the files; created with its parents when missing."""


class CSVConfig(FileConfig):
    """A folder of CSV files."""

    delimiter: str = Field(default=",", min_length=1, max_length=1)
    """One character between fields; a tab is written as ``"\\t"``."""

    header: bool = True
    """Write the field names as the first line."""


class JSONLinesConfig(FileConfig):
    """A folder of JSON Lines files: one JSON object per line."""


class ParquetConfig(FileConfig):
    """A folder of Parquet files."""

    compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"
    """Codec of every column chunk."""
