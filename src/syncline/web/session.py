"""The sign-in cookie: who is signed in, since when, and the CSRF token of their forms.

The cookie is sealed with the installation's secret key (Fernet: encrypted and
authenticated), so a browser can neither read nor forge it. It is HttpOnly and
SameSite=Lax; every form and htmx request must echo its CSRF token as well, so a
page on another site cannot act with a person's session.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from dataclasses import dataclass

from syncline.errors import ConfigError
from syncline.security.secrets import SecretBox

COOKIE_NAME = "syncline_session"
"""The name of the sign-in cookie."""

SESSION_SECONDS = 12 * 3600
"""How long a sign-in lasts; after that the person signs in again."""

CSRF_FIELD = "csrf_token"
"""The hidden form field that carries the CSRF token."""

CSRF_HEADER = "X-CSRF-Token"
"""The header htmx requests carry the CSRF token in."""


@dataclass(frozen=True)
class WebSession:
    """What the cookie holds: the user's id, the CSRF token and when the sign-in began."""

    user_id: int
    csrf: str
    issued: float

    def seal(self, box: SecretBox) -> str:
        """The cookie value of this session."""
        payload = {"u": self.user_id, "c": self.csrf, "i": self.issued}
        return box.encrypt(json.dumps(payload, separators=(",", ":")))

    def accepts(self, token: str | None) -> bool:
        """Whether ``token`` is this session's CSRF token (compared in constant time)."""
        return token is not None and hmac.compare_digest(token, self.csrf)


def new_session(user_id: int) -> WebSession:
    """A fresh session of ``user_id`` with its own random CSRF token."""
    return WebSession(user_id, secrets.token_urlsafe(32), time.time())


def open_session(box: SecretBox, cookie: str | None, now: float | None = None) -> WebSession | None:
    """The session of a cookie value; None when missing, forged, from another key or expired."""
    if not cookie:
        return None
    try:
        payload = json.loads(box.decrypt(cookie))
    except (ConfigError, ValueError):
        return None
    if not isinstance(payload, dict):
        return None
    try:
        session = WebSession(int(payload["u"]), str(payload["c"]), float(payload["i"]))
    except (KeyError, TypeError, ValueError):
        return None
    now = time.time() if now is None else now
    if not 0 <= now - session.issued <= SESSION_SECONDS:
        return None
    return session
