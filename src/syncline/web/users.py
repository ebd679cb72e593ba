"""Who is looking: the signed-in user of a request, and the checks on changing anything.

Every page takes :data:`Viewer` (signed in, any role). Every form post takes
:data:`AdminForm`, which also needs the admin role and the session's CSRF token, so
a viewer can see everything and change or run nothing, and a page on another site
cannot post with a person's cookie.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from syncline.catalog import Catalog
from syncline.catalog.tables import UserRecord, WorkspaceRecord
from syncline.catalog.users import Role
from syncline.web.session import COOKIE_NAME, CSRF_FIELD, CSRF_HEADER, open_session

logger = logging.getLogger(__name__)

UI_TRIGGER = "ui"
"""``triggered_by`` of a run a person started with a button of the web UI."""


class SignInRequired(Exception):
    """The request has no valid session; the person is sent to the sign-in page."""


class Forbidden(Exception):
    """The signed-in user may not do this (a viewer changing something, or a bad CSRF token)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class WebUser:
    """The signed-in person: account, role, workspace, and the CSRF token of their session."""

    id: int
    email: str
    role: str
    workspace_id: int
    workspace: str
    csrf: str

    @property
    def is_admin(self) -> bool:
        """Whether the user may change and run things."""
        return self.role == Role.admin


def catalog_of(request: Request) -> Catalog:
    """The catalog the app serves."""
    found: Catalog = request.app.state.catalog
    return found


def current_user(request: Request) -> WebUser:
    """The user of the request's session; SignInRequired when there is none."""
    catalog = catalog_of(request)
    session = open_session(catalog.secrets, request.cookies.get(COOKIE_NAME))
    if session is None:
        raise SignInRequired
    with catalog.session(read_only=True) as unit:
        record = unit.orm.get(UserRecord, session.user_id)
        if record is None or record.disabled_at is not None:
            raise SignInRequired
        ended = record.signed_out_at
        if ended is not None and session.issued <= ended.timestamp():
            raise SignInRequired
        if session.issued < record.created_at.timestamp():
            # A deleted account's id may be given to a newer one; its cookies open neither.
            raise SignInRequired
        workspace = unit.orm.get(WorkspaceRecord, record.workspace_id)
        assert workspace is not None
        return WebUser(
            record.id, record.email, record.role, record.workspace_id, workspace.slug,
            session.csrf,
        )  # fmt: skip


Viewer = Annotated[WebUser, Depends(current_user)]
"""A page parameter: the signed-in user, of any role."""


@dataclass(frozen=True)
class SubmittedForm:
    """A form an admin posted with a valid CSRF token."""

    user: WebUser
    data: FormData

    def text(self, name: str, default: str = "") -> str:
        """The field's value as text, stripped; ``default`` when absent."""
        value = self.data.get(name)
        return value.strip() if isinstance(value, str) else default

    def texts(self, name: str) -> list[str]:
        """Every value of a repeated field, in order."""
        return [v if isinstance(v, str) else "" for v in self.data.getlist(name)]


async def signed_form(request: Request, user: Viewer) -> SubmittedForm:
    """The posted form of a signed-in user whose CSRF token matches; Forbidden otherwise."""
    data = await request.form()
    token = data.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    if not isinstance(token, str) or not hmac.compare_digest(token, user.csrf):
        raise Forbidden("The form expired or came from another site; reload the page and retry.")
    return SubmittedForm(user, data)


SignedForm = Annotated[SubmittedForm, Depends(signed_form)]
"""A route parameter: a CSRF-checked form of a user of any role (e.g. signing out)."""


def admin_form(request: Request, form: SignedForm) -> SubmittedForm:
    """The CSRF-checked form of an admin; Forbidden for a viewer."""
    if not form.user.is_admin:
        logger.info("user %s (viewer) tried to post to %s", form.user.id, request.url.path)
        raise Forbidden("Your account can look but not change or run anything (role: viewer).")
    return form


AdminForm = Annotated[SubmittedForm, Depends(admin_form)]
"""A route parameter: the form an admin posted, CSRF-checked."""
