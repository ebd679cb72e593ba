"""Read one project YAML file into plain values, remembering the line of every key and item.

Strings get ``${VAR}`` replaced from the environment, or ``${VAR:-default}`` with a
default for a variable not set or empty (``$${`` is a literal ``${``), so secrets can
stay out of the files. Every problem (bad YAML, a duplicate key, a missing
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

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DEFAULTED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):-(.*)", re.DOTALL)
_OPERATOR = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(:?[-=?+])")


@dataclass(frozen=True)
class Substituted:
    """A text value built from environment variables, which may hold secrets.

    Problems never show such a value: they name the variables instead (see
    :mod:`syncline.project.concealed`).
    """

    text: str
    """The value after substitution."""
    variables: tuple[tuple[str, str], ...]
    """Each variable read, with its value."""

    def describe(self) -> str:
        """How a problem names the value, e.g. ``the value of ${PW}``."""
        names = ", ".join(f"${{{name}}}" for name, _ in self.variables)
        whole = len(self.variables) == 1 and self.variables[0][1] == self.text
        return f"the value of {names}" if whole else f"the value made from {names}"


@dataclass
class Document:
    """One parsed YAML file: its data and the 1-based line of each path in it."""

    file: str
    """The file's path relative to the project folder, as shown in problems."""
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    substituted: dict[Path_, Substituted] = field(default_factory=dict)
    """The text values that took some of their content from ``${VAR}`` references."""

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


@dataclass
class _Expansion:
    """What replacing the references of one text found: problems and variables read."""

    problems: list[tuple[str, str]] = field(default_factory=list)
    variables: list[tuple[str, str]] = field(default_factory=list)


def substitute(text: str, env: Mapping[str, str]) -> tuple[str, list[tuple[str, str]]]:
    """Replace ``${VAR}`` and ``${VAR:-default}`` from ``env``; a default may itself hold
    references (``${OUT:-${SYNCLINE_PROJECT_DIR}/out}``), read only when it is used.

    Returns the text and, for each reference that could not be replaced (a variable not
    set, or a form that is not supported), the message and the fix.
    """
    expansion = _Expansion()
    return _expand(text, env, expansion), expansion.problems


def _expand(text: str, env: Mapping[str, str], found: _Expansion) -> str:
    parts: list[str] = []
    done = 0
    while (start := text.find("${", done)) >= 0:
        escaped = start > done and text[start - 1] == "$"
        close = _closing_brace(text, start + 2)
        if close < 0:
            if not escaped:
                found.problems.append(_unclosed_problem(text[start:]))
            parts.append(text[done : start - 1 if escaped else start])
            done = start
            break
        inner = text[start + 2 : close]
        parts.append(text[done : start - 1 if escaped else start])
        parts.append("${" + inner + "}" if escaped else _reference(inner, env, found))
        done = close + 1
    parts.append(text[done:])
    return "".join(parts)


def _closing_brace(text: str, position: int) -> int:
    """The index of the ``}`` that closes a reference whose text starts at ``position``,
    counting the references nested in it; -1 when there is none."""
    depth = 0
    while position < len(text):
        if text.startswith("${", position):
            depth += 1
            position += 2
            continue
        if text[position] == "}":
            if depth == 0:
                return position
            depth -= 1
        position += 1
    return -1


def _reference(inner: str, env: Mapping[str, str], found: _Expansion) -> str:
    """The value of the reference ``${inner}``, or the reference itself with a problem."""
    if _NAME.fullmatch(inner) and inner in env:
        found.variables.append((inner, env[inner]))
        return env[inner]
    defaulted = _DEFAULTED.fullmatch(inner)
    if defaulted:
        # As in a shell: the default also stands in for a variable set but empty.
        name = defaulted.group(1)
        if env.get(name):
            found.variables.append((name, env[name]))
            return env[name]
        return _expand(defaulted.group(2), env, found)
    found.problems.append(_reference_problem(inner))
    return "${" + inner + "}"


def _unclosed_problem(rest: str) -> tuple[str, str]:
    """The message and fix for a ``${`` that no ``}`` closes; ``rest`` starts with it."""
    # On one line: a block scalar would spread the rest of its text across the message.
    first = rest.splitlines()[0]
    shown = first if first == rest else f"{first}..."
    if len(first) > 40:
        shown = f"{first[:37]}..."
    name = _NAME.match(rest[2:])
    closed = f"${{{name.group(0)}}}" if name else "${NAME}"
    return (
        f"the reference '{shown}' has no closing '}}'",
        f"close it, e.g. {closed}, or write $${{ to keep the text ${{ as it is",
    )


def _reference_problem(inner: str) -> tuple[str, str]:
    """The message and fix for ``${inner}``, a reference that could not be replaced."""
    keep = f"or write $${{{inner}}} to keep the text ${{{inner}}} as it is"
    if _NAME.fullmatch(inner):
        return f"the environment variable {inner!r} is not set", (
            f"set {inner} in the environment, write ${{{inner}:-default}} to use a default "
            f"when it is not set, {keep}"
        )
    stripped = inner.strip()
    if stripped != inner and (_NAME.fullmatch(stripped) or _DEFAULTED.fullmatch(stripped)):
        return (
            f"'${{{inner}}}' has spaces inside the braces, which a reference may not have",
            f"write ${{{stripped}}}",
        )
    operator = _OPERATOR.match(inner)
    if operator:
        name = operator.group(1)
        return (
            f"'${{{inner}}}' uses {operator.group(2)!r}, which is not supported: only "
            "${NAME} and ${NAME:-default} are",
            f"write ${{{name}:-default}} to use a default when {name} is not set or empty, "
            f"or ${{{name}}} to require it",
        )
    return (
        f"'${{{inner}}}' is not a variable reference: a name is letters, digits and "
        "underscores, and does not start with a digit",
        f"write ${{NAME}} or ${{NAME:-default}}, {keep}",
    )


MAX_DEPTH = 64
"""How deep lists and mappings may nest; a project needs fewer than ten levels."""

MAX_ALIASED_VALUES = 10_000
"""How many values aliases (``*name``, ``<<: *name``) may add to one file.

Aliases repeat a part of the file without copying it, so a few nested ones can stand
for billions of values ("billion laughs"); reading them out would exhaust the memory.
"""

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Unreadable(Exception):
    """The document cannot be read into values at all; the problem ends its reading."""

    def __init__(self, path: Path_, message: str, fix: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.fix = fix


class _Reader:
    """Turns a composed YAML node tree into plain values and a line index.

    A node reached a second time came through an alias. Its lines are not recorded
    again: the problems in it point at the key that uses the alias, not at the anchor.
    """

    def __init__(self, document: Document, env: Mapping[str, str]) -> None:
        self.document = document
        self.env = env
        self.problems: list[Problem] = []
        self.constructor = yaml.SafeLoader("")
        self.seen: set[int] = set()
        self.reading: set[int] = set()
        """The collections being read now, from the top down to the current one."""
        self.aliased = 0

    def value(self, node: yaml.Node, path: Path_) -> Any:
        first = id(node) not in self.seen
        if first:
            self.seen.add(id(node))
            self.document.lines.setdefault(path, node.start_mark.line + 1)
        else:
            self._count_aliased(path)

        if not isinstance(node, yaml.CollectionNode):
            value = self.constructor.construct_object(node, deep=True)
            if isinstance(value, str):
                value = self._substitute(value, path, node.start_mark.line + 1)
            return value

        if len(self.reading) >= MAX_DEPTH:
            message = f"lists, mappings and merges nest more than {MAX_DEPTH} levels deep here"
            raise _Unreadable(path, message, "nest them less deeply")
        if id(node) in self.reading:
            message = "an alias here refers to a list or mapping that contains it, so it never ends"
            raise _Unreadable(path, message, "write out the values instead of the alias")
        self.reading.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path, record=first)
            return [self.value(item, (*path, i)) for i, item in enumerate(node.value)]
        finally:
            self.reading.discard(id(node))

    def _count_aliased(self, path: Path_) -> None:
        self.aliased += 1
        if self.aliased > MAX_ALIASED_VALUES:
            message = (
                f"the aliases of this file stand for more than {MAX_ALIASED_VALUES} values, "
                "more than a project needs"
            )
            raise _Unreadable(path, message, "write the repeated parts out, or nest fewer aliases")

    def _mapping(self, node: yaml.MappingNode, path: Path_, *, record: bool) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: list[yaml.Node] = []

        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE_TAG:
                merged.append(value_node)
                continue
            if isinstance(key_node, yaml.CollectionNode):
                message = "a key must be a plain name, not a list or mapping"
                self._problem(path, line, message, "write the key as text")
                continue
            key = self.constructor.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key)
            if key in result:
                self._problem(path, line, f"the key {key!r} appears twice", "keep one of them")
                continue
            if record:
                self.document.lines.setdefault((*path, key), line)
            result[key] = self.value(value_node, (*path, key))

        # Keys written in the mapping win over merged ones; of several merged mappings
        # (<<: [*a, *b]) the first that has a key gives it, as YAML's merge key says.
        for source in merged:
            for part in source.value if isinstance(source, yaml.SequenceNode) else [source]:
                if not isinstance(part, yaml.MappingNode):
                    line = part.start_mark.line + 1
                    message = "'<<' merges mappings only, e.g. <<: *defaults"
                    self._problem(path, line, message, "merge a mapping or a list of mappings")
                    continue
                for key, value in self.value(part, path).items():
                    result.setdefault(key, value)
        return result

    def _substitute(self, text: str, path: Path_, line: int) -> str:
        expansion = _Expansion()
        result = _expand(text, self.env, expansion)
        for message, fix in expansion.problems:
            self._problem(path, line, message, fix)
        if expansion.variables:
            variables = tuple(expansion.variables)
            self.document.substituted.setdefault(path, Substituted(result, variables))
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

    def problem(line: int | None, message: str, fix: str | None) -> list[Problem]:
        return [Problem("", message, fix=fix, file=display, line=line)]

    try:
        raw = path.read_bytes()
    except OSError as exc:
        return document, problem(None, f"cannot read the file: {exc}", "check its permissions")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return document, problem(*_not_utf8(raw, exc))

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        return document, problem(line, *_syntax_problem(text, exc, line))
    except yaml.reader.ReaderError as exc:
        return document, problem(*_unprintable(text, exc))
    except RecursionError:
        message = f"lists and mappings nest more than {MAX_DEPTH} levels deep here"
        return document, problem(_too_deep(text), message, "nest them less deeply")

    if node is None:
        return document, []

    reader = _Reader(document, env)
    try:
        document.data = reader.value(node, ())
    except _Unreadable as exc:
        document.data = None
        line = document.line(exc.path)
        return document, [*reader.problems, *problem(line, exc.message, exc.fix)]
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        message = f"this value cannot be read: {exc.problem}"
        fix = "write plain text, numbers, true/false, lists and mappings, without !! tags"
        reader.problems.extend(problem(line, message, fix))
    return document, reader.problems


def _syntax_problem(text: str, error: yaml.MarkedYAMLError, line: int | None) -> tuple[str, str]:
    """The message and fix for text that is not YAML; a tab in an indentation gets its own,
    since the parser only says it found a character that cannot start a token."""
    lines = text.splitlines()
    written = lines[line - 1] if line is not None and 0 < line <= len(lines) else ""
    indentation = written[: len(written) - len(written.lstrip(" \t"))]
    if "\t" in indentation or "'\\t'" in str(error.problem):
        message = "this is not valid YAML: the line has a tab where YAML allows only spaces"
        return message, "YAML forbids tabs for indentation: indent with spaces instead"
    return (
        f"this is not valid YAML: {error.problem or error}",
        "correct the YAML syntax at this line",
    )


def _not_utf8(raw: bytes, error: UnicodeDecodeError) -> tuple[int, str, str]:
    """The line, message and fix for a file whose bytes are not UTF-8."""
    start = raw.rfind(b"\n", 0, error.start) + 1
    line = raw.count(b"\n", 0, error.start) + 1
    # Everything before the bad byte decoded, so the column counts characters.
    column = len(raw[start : error.start].decode("utf-8")) + 1
    message = (
        f"the file is not UTF-8: byte 0x{raw[error.start]:02x} at line {line}, column "
        f"{column} is not UTF-8 text"
    )
    return line, message, "save the file as UTF-8 (your editor's encoding setting)"


def _unprintable(text: str, error: yaml.reader.ReaderError) -> tuple[int, str, str]:
    """The line, message and fix for a character YAML does not allow in a file."""
    line = text.count("\n", 0, error.position) + 1
    column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
    character = error.character if isinstance(error.character, int) else 0
    message = (
        f"the character U+{character:04X} at line {line}, column {column} is not allowed in YAML"
    )
    return line, message, "remove it, or write it as an escape such as \\x00 in double quotes"


def _too_deep(text: str) -> int | None:
    """The line where lists and mappings first nest deeper than :data:`MAX_DEPTH`.

    The YAML parser works without recursion, unlike the composer that failed.
    """
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                return int(event.start_mark.line) + 1
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None
