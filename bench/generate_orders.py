"""Write TPC-H ``orders`` at one scale factor to a CSV file, with DuckDB's tpch extension.

This script runs inside the benchmark's own virtual environment (``bench/.venv-tpch``), which
holds the DuckDB release that the ``duckdb-extension-tpch`` wheel was built for. It imports
nothing from Syncline, so the project may use another DuckDB release.

Usage: ``python generate_orders.py SCALE_FACTOR OUTPUT.csv``
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import duckdb
import duckdb_extension_tpch


def extension_file() -> Path:
    """The ``tpch.duckdb_extension`` file shipped inside the installed wheel."""
    package_dir = Path(duckdb_extension_tpch.__file__).parent
    matches = sorted(package_dir.glob("extensions/*/tpch.duckdb_extension"))
    if not matches:
        raise SystemExit(f"no tpch.duckdb_extension under {package_dir}: reinstall the wheel")
    return matches[-1]


def generate(scale_factor: float, output: Path) -> None:
    """Generate the TPC-H tables in a scratch database and export ``orders`` to ``output``."""
    with tempfile.TemporaryDirectory(prefix="tpch-") as scratch:
        con = duckdb.connect(str(Path(scratch) / "tpch.duckdb"))
        con.execute(f"LOAD '{extension_file()}'")
        con.execute(f"CALL dbgen(sf={scale_factor})")

        partial = output.with_suffix(".partial")
        con.execute(
            f"COPY (SELECT * FROM orders ORDER BY o_orderkey) TO '{partial}' (HEADER false)"
        )
        con.close()

    partial.rename(output)


if __name__ == "__main__":
    generate(float(sys.argv[1]), Path(sys.argv[2]))
