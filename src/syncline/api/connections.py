"""What the source and destination endpoints share: checking a configuration, and trying it.

A configuration is checked by the connector's own pydantic model from the registry,
the same check ``syncline validate`` runs on project files, so the API and YAML accept
and refuse the same things. :func:`try_connection` is the connection test of the API
and of the web UI's forms.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from syncline.api.booleans import loose_booleans, replacing
from syncline.catalog.repository import check_slug
from syncline.errors import ConfigError, Problem, SynclineError, ValidationError
from syncline.security.files import FilePolicy, path_problems
from syncline.security.masking import MASK, masked_query_names, masked_url, redact
from syncline.security.secrets import looks_secret

logger = logging.getLogger(__name__)

SHORTEST_HIDDEN_SECRET = 4
"""Secret values this long or longer are masked in a test's message.

A shorter value would mask every place its letters occur in the message, leaving
nothing readable; the connectors' own messages do not quote credentials anyway.
"""

ConnectorLookup = Callable[[str], Any]
"""``registry.source_class`` or ``registry.destination_class``."""


def check_connection(
    lookup: ConnectorLookup,
    type_name: str,
    configuration: Mapping[str, Any],
    *,
    files: FilePolicy | None = None,
) -> list[Problem]:
    """Every problem of a connector type and its configuration; none when it is valid.

    With ``files``, a path the configuration names must also lie in its file roots:
    API and web clients pass the server's policy, so no workspace reaches the server's
    own files (see :mod:`syncline.security.files`).
    """
    try:
        cls = lookup(type_name)
    except ConfigError as exc:
        return [Problem("type", exc.message, value=type_name)]
    except (ImportError, AttributeError) as exc:
        message = f"the connector type {type_name!r} cannot be loaded ({exc})"
        fix = "install the package that provides it"
        return [Problem("type", message, fix=fix, value=type_name)]

    try:
        cls.config_model.parse(dict(configuration))
    except ValidationError as exc:
        return [_without_secret_value(problem) for problem in exc.problems]
    if files is not None:
        return path_problems(cls.config_model, configuration, files)
    return []


def check_new_connection(
    lookup: ConnectorLookup,
    name: str,
    slug: str,
    type_name: str,
    configuration: Mapping[str, Any],
    *,
    files: FilePolicy | None = None,
) -> list[Problem]:
    """Every problem of a new source or destination, so a client can fix them in one pass."""
    problems: list[Problem] = []
    if not name.strip():
        problems.append(Problem("name", "the name is empty", value=name))
    check_slug(slug, problems)
    found = check_connection(lookup, type_name, configuration, files=files)
    problems += replacing(found, _loose_booleans(lookup, type_name, configuration))
    return problems


def merged(stored: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """A shallow merge (API.md 3.4): given keys replace stored ones; a null removes the key."""
    result = dict(stored)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def secrets_to_give_again(
    lookup: ConnectorLookup,
    type_name: str,
    stored: Mapping[str, Any],
    changes: Mapping[str, Any],
) -> list[Problem]:
    """A problem for each stored secret the changes would carry to another target.

    When the changes move the connection (another host, port, database, login ...,
    as the connector's ``target_fields`` say), a stored secret is not reused: it was
    given for the old target, and a connection test or run would send it to the new
    one. Each such secret must come again in ``changes``; one set to null is simply
    dropped. Changes that keep the target keep the stored secrets.
    """
    try:
        model = lookup(type_name).config_model
    except (ConfigError, ImportError, AttributeError):
        return []  # check_connection reports the unknown type
    moved = model.target_changes(stored, merged(stored, changes))
    if not moved:
        return []
    reason = f"the {_and_list(moved)} changed"
    problems = []
    for key in sorted(model.secret_fields()):
        if key in changes or not _given(stored.get(key)):
            continue
        message = f"give the {key} again: {reason}"
        fix = f"send {key} with the new {_and_list(moved)}, or null to remove it"
        problems.append(Problem(f"configuration.{key}", message, fix=fix))
    return problems


def with_stored_urls(
    lookup: ConnectorLookup,
    type_name: str,
    stored: Mapping[str, Any],
    changes: Mapping[str, Any],
) -> tuple[dict[str, Any], list[Problem]]:
    """``changes`` with each URL that is the stored one as answers show it (query values
    masked) put back to the stored URL, and a problem for any other URL holding the mask.

    A client that edits a configuration sends back what it was shown; saving that
    would replace the URL's token with ``***``. A mask in a URL that moved cannot be
    filled in: the token was given for the old URL.
    """
    try:
        fields = lookup(type_name).config_model.secret_query_fields
    except (ConfigError, ImportError, AttributeError):
        return dict(changes), []  # check_connection reports the unknown type
    restored, problems = dict(changes), []
    for key in fields:
        sent, old = changes.get(key), stored.get(key)
        if not isinstance(sent, str):
            continue
        if isinstance(old, str) and sent == masked_url(old):
            restored[key] = old
        elif names := masked_query_names(sent):
            message = (
                f"the value of {_and_list([repr(n) for n in names])} in the URL is the mask "
                f"{MASK}, and the URL is not the stored one"
            )
            fix = "give the URL with its query values in full"
            problems.append(Problem(f"configuration.{key}", message, fix=fix))
    return restored, problems


def _loose_booleans(
    lookup: ConnectorLookup, type_name: str, sent: Mapping[str, Any]
) -> list[Problem]:
    try:
        model = lookup(type_name).config_model
    except (ConfigError, ImportError, AttributeError):
        return []  # check_connection reports the unknown type
    return loose_booleans(model, dict(sent), "configuration")


def _given(value: Any) -> bool:
    return value is not None and value != "" and value != {}


def _and_list(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _without_secret_value(problem: Problem) -> Problem:
    last = problem.location.rsplit(".", 1)[-1]
    if problem.value is None or not looks_secret(last):
        return problem
    return Problem(problem.location, problem.message, problem.fix, value=None)


def checked_update(
    lookup: ConnectorLookup,
    type_name: str,
    stored: Mapping[str, Any],
    name: str | None,
    changes: Mapping[str, Any] | None,
    *,
    files: FilePolicy | None = None,
) -> dict[str, Any] | None:
    """The configuration a PATCH leads to (None when it sends none), after every check.

    Raises:
        ValidationError: the new name is empty or the merged configuration is refused;
            every problem at once.
    """
    problems: list[Problem] = []
    if name is not None and not name.strip():
        problems.append(Problem("name", "the name is empty", value=name))
    configuration = None
    if changes is not None:
        changes, masked = with_stored_urls(lookup, type_name, stored, changes)
        problems += masked
        configuration = merged(stored, changes)
        problems += secrets_to_give_again(lookup, type_name, stored, changes)
        found = check_connection(lookup, type_name, configuration, files=files)
        # Only the changes: stored values were checked when they came (or came from YAML).
        problems += replacing(found, _loose_booleans(lookup, type_name, changes))
    if problems:
        raise ValidationError(problems)
    return configuration


@dataclass(frozen=True)
class ConnectionTest:
    """The outcome of trying a connection: success, or the reason it failed, secrets masked."""

    success: bool
    message: str | None = None


def try_connection(
    lookup: ConnectorLookup,
    kind: str,
    type_name: str,
    configuration: Mapping[str, Any],
    files: FilePolicy,
) -> ConnectionTest:
    """Check the configuration, then connect with it as the connector's ``test()`` does.

    ``kind`` (``source`` or ``destination``) names the connector in the log. A path
    off the file roots fails the test before anything is opened, and a source's SQL
    runs in the roots' sandbox, as it would in a run. The message never holds a
    secret value of the configuration.
    """
    problems = check_connection(lookup, type_name, configuration, files=files)
    if problems:
        message = "; ".join(f"{p.location}: {p.message}" for p in problems)
        return ConnectionTest(False, message)

    try:
        connector = lookup(type_name).from_config(dict(configuration))
    except (SynclineError, ImportError) as exc:
        return ConnectionTest(False, _masked(str(exc), lookup, type_name, configuration))
    try:
        confine = getattr(connector, "confine_files", None)
        if confine is not None and files.confine_sql:
            confine(files.roots)
        guard = getattr(connector, "guard_files", None)
        if guard is not None:
            guard(files.refusal)
        connector.test()
    except SynclineError as exc:
        logger.info("connection test of a %s (%s) failed", kind, type_name)
        return ConnectionTest(False, _masked(str(exc), lookup, type_name, configuration))
    finally:
        connector.close()
    return ConnectionTest(True)


def _masked(
    message: str, lookup: ConnectorLookup, type_name: str, configuration: Mapping[str, Any]
) -> str:
    try:
        declared = set(lookup(type_name).config_model.secret_fields())
    except (SynclineError, ImportError, AttributeError):
        declared = set()
    return redact(message, *_secret_values(configuration, declared))


def _secret_values(data: Mapping[str, Any], declared: set[str]) -> Iterator[str]:
    for key, value in data.items():
        if key in declared or looks_secret(key):
            yield from (v for v in _leaves(value) if len(v) >= SHORTEST_HIDDEN_SECRET)
        elif isinstance(value, Mapping):
            yield from _secret_values(value, declared)


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    elif value is not None and not isinstance(value, bool):
        yield str(value)
