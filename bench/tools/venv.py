"""Virtual environments of the tools compared with Syncline, one each, made on first use.

drt and dlt bring dependencies of their own (psycopg2, SQLAlchemy, their own pyarrow) that
must not meet Syncline's, so each lives in ``~/.cache/syncline-bench/<name>``, installed with
pip from whatever index pip is configured to use. The exact requirements are written beside
the environment once it is complete; different requirements, or an install that stopped half
way, make it anew.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

logger = logging.getLogger(__name__)

CACHE_DIR = Path.home() / ".cache" / "syncline-bench"
READY_FILE = ".installed"


def ensure_venv(name: str, requirements: Sequence[str]) -> Path:
    """The interpreter of environment ``name`` holding ``requirements``, made if missing."""
    folder = CACHE_DIR / name
    python = folder / "bin" / "python"
    ready = folder / READY_FILE
    wanted = "\n".join(requirements) + "\n"
    if ready.exists() and ready.read_text(encoding="utf-8") == wanted:
        return python

    print(f"creating {folder} with {' '.join(requirements)}", flush=True)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *requirements],
        check=True,
    )
    ready.write_text(wanted, encoding="utf-8")
    return python
