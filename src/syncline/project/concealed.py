"""Keep values read from environment variables out of the problems validate reports.

Variables are where projects keep their secrets; a value meant for ``password`` may
land in ``port`` by mistake, and the message about the port must not print it. A
problem names the variable instead (``not the value of ${PW}``), whatever the case the
value is shown in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from syncline.connectors.config import SHORTEST_HIDDEN_SECRET
from syncline.errors import Problem
from syncline.project.spec import Project
from syncline.project.yamlfile import Document, Substituted

PLAIN_VARIABLES = frozenset({"SYNCLINE_PROJECT_DIR"})
"""Variables that are no secret: the project folder, which problems may show."""


def conceal(problems: Iterable[Problem], documents: dict[str, Document]) -> list[Problem]:
    """``problems`` with every value substituted in their file named, not shown."""
    return [_conceal(problem, documents.get(problem.file or "")) for problem in problems]


def conceal_notes(notes: Iterable[str], documents: dict[str, Document]) -> list[str]:
    """``notes`` (which name no file) with every value substituted in any file named."""
    values = [v for document in documents.values() for v in document.substituted.values()]
    return [_hide(note, values) for note in notes]


def _conceal(problem: Problem, document: Document | None) -> Problem:
    if document is None:
        return problem
    values = list(document.substituted.values())
    message, fix = _hide(problem.message, values), _hide(problem.fix or "", values)
    hid = message != problem.message or fix != (problem.fix or "")
    if not hid and not _holds(problem.value, document):
        return problem
    return replace(problem, message=message, fix=None if problem.fix is None else fix, value=None)


def _hide(text: str, values: Iterable[Substituted]) -> str:
    """``text`` with each of ``values`` (and each variable in them) named, not shown."""
    for value in _longest_first(values):
        for shown, said in _spellings(value):
            # Whatever the case: a database may fold an identifier before it reports it.
            text = _replaced(text, re.compile(re.escape(shown), re.IGNORECASE), said)
    return text


def _replaced(text: str, pattern: re.Pattern[str], said: str) -> str:
    """``text`` with what ``pattern`` finds replaced by ``said``, fitted to each place."""
    return pattern.sub(lambda found: _fitted(said, text[: found.start()]), text)


def _fitted(said: str, before: str) -> str:
    """``said`` as it reads in the sentence after ``before``: after a noun ("the cron
    expression", "unknown interval unit") ``the value of ${PW}`` goes in brackets."""
    if not said.startswith("the value") or not before or before.endswith(("not ", ": ", "(")):
        return said
    return f"({said})"


def _longest_first(values: Iterable[Substituted]) -> list[Substituted]:
    kept = [v for v in values if any(n not in PLAIN_VARIABLES for n, _ in v.variables)]
    return sorted(kept, key=lambda v: len(v.text), reverse=True)


def _spellings(value: Substituted) -> list[tuple[str, str]]:
    """The ways a message may show ``value`` or a variable in it, and what to say instead.

    Quoted forms are replaced whatever their length; bare text only from
    :data:`SHORTEST_HIDDEN_SECRET` characters on, so that a short value does not
    mangle the words around it.
    """
    said = value.describe()
    found = [(repr(value.text), said), (f'"{value.text}"', said)]
    for name, text in value.variables:
        found += [(repr(text), f"the value of ${{{name}}}"), (f'"{text}"', f"${{{name}}}")]
    if len(value.text) >= SHORTEST_HIDDEN_SECRET:
        found.append((value.text, said))
    for name, text in value.variables:
        if len(text) >= SHORTEST_HIDDEN_SECRET:
            found.append((text, f"${{{name}}}"))
    return [(text, instead) for text, instead in found if text]


def _holds(value: object, document: Document) -> bool:
    """Whether a problem's value shows a substituted value (then it is dropped)."""
    if value is None:
        return False
    shown = repr(value).casefold()
    return any(
        text and text.casefold() in shown
        for substituted in document.substituted.values()
        for _, text in substituted.variables
    )


def project_documents(project: Project) -> dict[str, Document]:
    """The files a project was read from, by the name its problems give them."""
    kinds = (project.sources, project.models, project.destinations, project.syncs)
    found: dict[str, Document] = {}
    for specs in (*kinds, project.sequences):
        for spec in specs.values():
            if spec.origin.document is not None:
                found[spec.origin.file] = spec.origin.document
    return found
