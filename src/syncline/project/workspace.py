"""The workspace a project folder declares in its settings file.

Commands that only need the workspace (``syncline run``, say) read it here, without
loading the project loader and everything a whole project needs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from syncline.errors import UserError

SETTINGS_FILES = ("syncline.yml", "syncline.yaml")
"""The project's settings file, under either extension; the first one found is read."""


def project_variables(root: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """What ``${VAR}`` in a project's files may name: the environment (or ``env``), and
    ``SYNCLINE_PROJECT_DIR``, the project folder, unless the environment sets it."""
    variables = dict(os.environ if env is None else env)
    variables.setdefault("SYNCLINE_PROJECT_DIR", str(root.resolve()))
    return variables


def project_workspace(root: Path, *, named: bool = False) -> str | None:
    """The ``workspace`` a project folder's settings file declares, if it has one.

    Only the settings file is read, so commands that merely need the workspace work
    even while other files of the project have problems. ``named`` says the user gave
    the folder (``--project``), which must then exist.

    Raises:
        UserError: a named folder is missing, or the settings file cannot say which
            workspace it means (unreadable, a ``${VAR}`` not set, not a name), so that a
            command never falls back to ``default`` and finds a namesake there.
    """
    if named and not root.is_dir():
        raise UserError(
            f"project folder {root} does not exist; give --project the folder that holds "
            "the project's YAML files",
            code="PROJECT_MISSING",
        )
    for name in SETTINGS_FILES:
        path = root / name
        if not path.is_file():
            continue
        from syncline.project.yamlfile import read_document

        document, problems = read_document(path, display=str(path), env=project_variables(root))
        if problems:
            raise UserError(
                f"{problems[0].render()}; the workspace of project {root} cannot be read "
                "(`syncline validate` lists every problem)",
                code="PROJECT_INVALID",
            )
        data = document.data
        if not isinstance(data, dict) or data.get("workspace") is None:
            return None
        workspace = data["workspace"]
        if not isinstance(workspace, str) or not workspace.strip():
            raise UserError(
                f"{path}: workspace must be a workspace's slug (a non-empty string), not "
                f"{workspace!r}; fix it or remove it to use the default workspace",
                code="PROJECT_INVALID",
            )
        return workspace.strip()
    return None
