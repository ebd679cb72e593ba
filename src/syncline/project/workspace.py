"""The workspace a project folder declares in its settings file.

Commands that only need the workspace (``syncline run``, say) read it here, without
loading the project loader and everything a whole project needs.
"""

from __future__ import annotations

import os
from pathlib import Path

SETTINGS_FILES = ("syncline.yml", "syncline.yaml")
"""The project's settings file, under either extension; the first one found is read."""


def project_workspace(root: Path) -> str | None:
    """The ``workspace`` a project folder's settings file declares, if it has one.

    Only the settings file is read, so commands that merely need the workspace work
    even while other files of the project have problems.
    """
    for name in SETTINGS_FILES:
        path = root / name
        if not path.is_file():
            continue
        from syncline.project.yamlfile import read_document

        variables = dict(os.environ)
        variables.setdefault("SYNCLINE_PROJECT_DIR", str(root.resolve()))
        document, _ = read_document(path, display=name, env=variables)
        data = document.data
        if isinstance(data, dict) and isinstance(data.get("workspace"), str):
            return str(data["workspace"]).strip() or None
        return None
    return None
