"""Secrets taken out of messages that may reach a log, a terminal or an API answer."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

MASK = "***"


def scrub(message: str, *secrets: str | None) -> str:
    """``message`` with every non-empty secret replaced by ``***`` where it stands alone.

    A secret counts where no letter or digit touches it on either side: as a password
    in a URL (``:s3cret@``) or quoted, it goes, but inside another word it stays, for
    masking the ``odbc`` in ``pyodbc`` would show that the password is ``odbc``. Longer
    secrets go first, so that one holding another is masked whole.
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        alone = rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])"
        message = re.sub(alone, MASK, message)
    return message


_SECRET_PARAMETER = re.compile(
    r"(?<![\w.-])(?P<name>[\w.-]*(?:password|passwd|passphrase|pwd|secret|token|api_?key"
    r"|access_?key|private_?key|credentials?)[\w.-]*|pass|key|sig|signature)"
    r"(?P<equals>\s*=\s*)(?P<value>'(?:[^'\\]|\\.)*'|\"[^\"]*\"|[^\s&;,'\")]+)",
    re.IGNORECASE,
)
"""A ``name=value`` pair whose name says the value is a credential: in a URL's query
string (``?password=...&``) or a key/value connection string (``password=... dbname=``)."""

_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][\w+.-]*://[^\s:/@]*:)(?P<value>[^\s/@]+)@")
"""The password between ``user:`` and ``@`` in a URL."""


def mask_credentials(message: str) -> str:
    """``message`` with the credentials a URL or a connection string spells out masked.

    Drivers echo the URL or connection string they were given, which may carry the
    password in its query string or as a ``password=`` pair, so these are masked by
    their names, whatever the values are.
    """
    message = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}@", message)
    return _SECRET_PARAMETER.sub(lambda m: f"{m['name']}{m['equals']}{MASK}", message)


def redact(message: str, *secrets: str | None) -> str:
    """``message`` with every secret masked, as given and as a URL or driver spells it.

    A secret that is itself a URL masks its password and its credential parameters too,
    since a driver re-renders a URL (reordering its query, decoding ``%40`` to ``@``)
    rather than quoting it whole; credentials named in the text are masked as well
    (see :func:`mask_credentials`).
    """
    values: set[str] = set()
    for secret in secrets:
        if secret:
            values.update(_spellings(secret))
    return mask_credentials(scrub(message, *values))


def _spellings(secret: str) -> set[str]:
    """``secret`` as given and percent-encoded, and the credentials inside it if a URL."""
    found = {secret}
    if "://" in secret:
        try:
            parts = urlsplit(secret)
            password = parts.password
        except ValueError:
            parts, password = None, None
        if password:
            found.add(password)
        if parts is not None:
            for name, value in parse_qsl(parts.query, keep_blank_values=False):
                if value and _SECRET_PARAMETER.fullmatch(f"{name}={value}"):
                    found.add(value)
    for value in list(found):
        found.update({unquote(value), quote(value, safe=""), quote_plus(value)})
    return {value for value in found if value}


def masked_url(url: str) -> str:
    """``url`` with its password and every query-string value replaced by ``***``.

    For URLs whose query carries an access token or signature (a webhook's
    ``?token=...``): the names stay, so the user can still tell which URL it is.
    """
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return mask_credentials(url)
    netloc = parts.netloc
    if password is not None:
        userinfo, _, host = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:{MASK}@{host}"
    pairs = []
    for pair in parts.query.split("&"):
        name, equals, value = pair.partition("=")
        pairs.append(f"{name}={MASK}" if equals and value else pair)
    return parts._replace(netloc=netloc, query="&".join(pairs)).geturl()


def masked_query_names(url: str) -> list[str]:
    """The names of ``url``'s query parameters whose value is the mask ``***``: a URL
    copied from a masked answer, whose values must be given again."""
    try:
        query = urlsplit(url).query
    except ValueError:
        return []
    return [name for name, value in parse_qsl(query) if value == MASK]
