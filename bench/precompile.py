"""Compile Syncline's modules to bytecode before anything is timed.

``pip install`` compiles a package's modules when it installs them; an editable checkout
is compiled by its first import instead, unless ``PYTHONDONTWRITEBYTECODE`` is set, in
which case every ``syncline`` process compiles every module it imports again (about
0.1 s on the benchmark's machines). Compiling once here times the runs as an installed
Syncline runs, whatever the environment says; the tools compared with it are installed
by pip and so compiled already.
"""

from __future__ import annotations

import compileall
import logging
from pathlib import Path

logger = logging.getLogger(__name__)


def compile_syncline() -> None:
    """Write the bytecode of every Syncline module next to its source (``__pycache__``)."""
    import syncline

    package = Path(syncline.__file__).parent
    if not compileall.compile_dir(package, quiet=1):
        logger.warning("some of Syncline's modules in %s did not compile", package)
