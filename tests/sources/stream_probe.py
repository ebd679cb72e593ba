"""Run as a script: stream a generated PostgreSQL result and print rows, bytes and peak memory.

The test of bounded memory runs it in a fresh process, so the peak resident size it
reports belongs to this read alone.
"""

from __future__ import annotations

import json
import sys


def _resident_kib(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{key} missing from /proc/self/status")


def main() -> None:
    """Read ``sys.argv[2]`` rows from the database in the JSON config ``sys.argv[1]``."""
    from syncline.connectors.sources.postgres import PostgresSource

    source = PostgresSource.from_config(json.loads(sys.argv[1]))
    rows = int(sys.argv[2])
    for _ in source.read("SELECT 1 AS warm_up"):
        pass
    before = _resident_kib("VmRSS")

    total_rows = total_bytes = batches = 0
    query = (
        "SELECT g AS id, repeat('x', 100) || g AS payload, now() AS at "
        f"FROM generate_series(1, {rows}) AS g"
    )
    for batch in source.read(query, batch_rows=65_536):
        total_rows += batch.num_rows
        total_bytes += batch.nbytes
        batches += 1

    peak = _resident_kib("VmHWM")
    print(
        json.dumps(
            {
                "rows": total_rows,
                "bytes": total_bytes,
                "batches": batches,
                "growth_bytes": (peak - before) * 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
