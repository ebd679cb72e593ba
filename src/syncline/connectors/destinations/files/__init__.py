"""File destinations: CSV, JSON Lines and Parquet files in a local folder.

The sync's ``object`` is the file name, relative to the configured ``directory``.
Without ``{run_id}`` or ``{timestamp}`` in it, one maintained file holds the current
state; with either, every run writes a new change-log file (see
:mod:`.destination`). Value spellings (timestamps, decimals, JSON, NULL) are in
:mod:`.values` and :class:`~.formats.CSVFormat`.
"""

from syncline.connectors.destinations.files.destination import (
    OPERATION_FIELD,
    CSVDestination,
    FileDestination,
    JSONLinesDestination,
    ParquetDestination,
)
from syncline.connectors.destinations.files.spec import (
    CSVConfig,
    FileConfig,
    JSONLinesConfig,
    ParquetConfig,
)

__all__ = [
    "OPERATION_FIELD",
    "CSVConfig",
    "CSVDestination",
    "FileConfig",
    "FileDestination",
    "JSONLinesConfig",
    "JSONLinesDestination",
    "ParquetConfig",
    "ParquetDestination",
]
