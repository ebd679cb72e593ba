"""Read one project YAML file into plain values, remembering the line of every key and item.

Strings get ``${VAR}`` replaced from the environment (``$${`` is a literal ``${``), so
secrets can stay out of the files. Every problem (bad YAML, a duplicate key, a missing
variable) is collected with its file and line instead of stopping at the first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from syncline.errors import Problem

Path_ = tuple[str | int, ...]
"""Where a value sits in a document: keys and list indexes from the top."""

_VARIABLE = re.compile(r"\$(\$?)\{([^}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class Document:
    """One parsed YAML file: its data and the 1-based line of each path in it."""

    file: str
    """The file's path relative to the project folder, as shown in problems."""
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, path: Path_) -> int | None:
        """The line of ``path``, or of its nearest parent that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)


def render_path(path: Path_) -> str:
    """Spell a path as people read it, e.g. ``syncs[0].configuration.mode``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def substitute(text: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """Replace ``${VAR}`` from ``env``; returns the text and the names that were missing."""
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        escaped, name = match.group(1), match.group(2)
        if escaped:
            return "${" + name + "}"
        if not _NAME.fullmatch(name) or name not in env:
            missing.append(name)
            return match.group(0)
        return env[name]

    return _VARIABLE.sub(replace, text), missing


class _Reader:
    """Turns a composed YAML node tree into plain values and a line index."""

    def __init__(self, document: Document, env: Mapping[str, str]) -> None:
        self.document = document
        self.env = env
        self.problems: list[Problem] = []
        self.constructor = yaml.SafeLoader("")

    def value(self, node: yaml.Node, path: Path_) -> Any:
        self.document.lines.setdefault(path, node.start_mark.line + 1)

        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)

        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, (*path, i)) for i, item in enumerate(node.value)]

        value = self.constructor.construct_object(node, deep=True)
        if isinstance(value, str):
            value = self._substitute(value, path, node.start_mark.line + 1)
        return value

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        self.constructor.flatten_mapping(node)

        for key_node, value_node in node.value:
            key = self.constructor.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                key = str(key)
            if key in result:
                self._problem(path, line, f"the key {key!r} appears twice", "keep one of them")
                continue
            self.document.lines[(*path, key)] = line
            result[key] = self.value(value_node, (*path, key))

        return result

    def _substitute(self, text: str, path: Path_, line: int) -> str:
        result, missing = substitute(text, self.env)
        for name in missing:
            self._problem(
                path,
                line,
                f"the environment variable {name!r} is not set",
                f"set {name} in the environment, or write $${{{name}}} to keep the text "
                f"${{{name}}} as it is",
            )
        return result

    def _problem(self, path: Path_, line: int, message: str, fix: str) -> None:
        self.problems.append(
            Problem(render_path(path), message, fix=fix, file=self.document.file, line=line)
        )


def read_document(
    path: Path, *, display: str, env: Mapping[str, str]
) -> tuple[Document, list[Problem]]:
    """Parse ``path``; returns the document (data None when unreadable) and its problems."""
    document = Document(file=display, data=None)

    try:
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = f"this is not valid YAML: {exc.problem or exc}"
        fix = "correct the YAML syntax at this line"
        return document, [Problem("", message, fix=fix, file=display, line=line)]
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return document, [Problem("", f"cannot read the file: {exc}", file=display)]

    if node is None:
        return document, []

    reader = _Reader(document, env)
    try:
        document.data = reader.value(node, ())
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        message = f"this value cannot be read: {exc.problem}"
        reader.problems.append(Problem("", message, file=display, line=line))
    return document, reader.problems
