"""The signed-in person's own account: changing their password.

Any role may change its own password. The current password is asked for, so a
browser left signed in is not enough to take the account over, and a wrong one
counts as a failed sign-in. A change ends every other session of the account; the
browser that made it gets a fresh one.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from syncline.catalog.sign_ins import SignInThrottle, wait_text
from syncline.catalog.users import UserRepository
from syncline.errors import ValidationError
from syncline.web.forms import FORM, field_errors
from syncline.web.pages.signin import client_address, set_session_cookie
from syncline.web.render import render
from syncline.web.users import SignedForm, SubmittedForm, Viewer, WebUser, catalog_of

logger = logging.getLogger(__name__)

router = APIRouter()


def _page(
    request: Request,
    user: WebUser,
    *,
    errors: dict[str, str] | None = None,
    changed: bool = False,
    status: int | None = None,
) -> Response:
    errors = errors or {}
    code = status or (400 if errors else 200)
    return render(request, "account.html", user, status_code=code, errors=errors, changed=changed)


@router.get("/account")
def account_page(request: Request, user: Viewer, changed: bool = False) -> Response:
    """The password form."""
    return _page(request, user, changed=changed)


def _password(form: SubmittedForm, name: str) -> str:
    # Passwords are taken as typed: spaces at either end are part of them.
    value = form.data.get(name)
    return value if isinstance(value, str) else ""


@router.post("/account/password")
def change_password(request: Request, form: SignedForm) -> Response:
    """Check the current password, store the new one, and start a fresh session."""
    user = form.user
    current = _password(form, "current_password")
    new = _password(form, "new_password")
    if new != _password(form, "repeat_password"):
        errors = {"repeat_password": "the two new passwords do not match; type it again"}
        return _page(request, user, errors=errors)

    address = client_address(request)
    with catalog_of(request).session() as unit:
        throttle = SignInThrottle(unit.orm)
        wait = throttle.wait(user.email, address)
        if wait is not None:
            return _page(request, user, errors={FORM: wait_text(wait)}, status=429)
        try:
            done = UserRepository(unit.orm).change_own_password(user.id, current, new)
        except ValidationError as exc:
            return _page(request, user, errors=field_errors(exc, {"password": "new_password"}))
        if not done:
            throttle.failed(user.email, address)
    if not done:
        errors = {"current_password": "the current password is wrong"}
        return _page(request, user, errors=errors)

    logger.info("user %s changed their password", user.id)
    response = RedirectResponse("/account?changed=true", status_code=303)
    set_session_cookie(request, response, user.id)
    return response
