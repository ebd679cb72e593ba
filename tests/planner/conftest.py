"""The planner tests reuse the engine's test doubles and their warehouse loaders."""

from __future__ import annotations

import sys
from pathlib import Path

# engine_doubles and warehouse_doubles live beside the engine tests.
sys.path.insert(0, str(Path(__file__).parent.parent / "engine"))
