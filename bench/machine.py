"""A one-line description of the machine and servers a benchmark ran on."""

from __future__ import annotations

import logging
import os
import platform
from datetime import UTC, datetime

import psycopg

logger = logging.getLogger(__name__)


def total_memory_gib() -> float:
    """Physical memory of this machine in GiB, from ``/proc/meminfo`` (0 when unknown)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / (1 << 20)
    except OSError:
        pass
    return 0.0


def describe_machine(dsn: str) -> str:
    """Cores, memory, system, Python, PostgreSQL and DuckDB versions, and the time now."""
    import duckdb

    with psycopg.connect(dsn) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    server = row[0] if row else "?"

    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{now}; {os.cpu_count()} cores, {total_memory_gib():.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"PostgreSQL {server}, DuckDB {duckdb.__version__}"
    )
