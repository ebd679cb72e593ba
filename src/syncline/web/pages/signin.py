"""Signing in and out with a local account.

The sign-in form has no session yet, so its CSRF token is a random value kept in a
short-lived cookie and echoed in the form (a double submit): another site can post
the form but cannot read or set that cookie.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from syncline.catalog.sign_ins import SignInThrottle, wait_text
from syncline.catalog.users import UserRepository
from syncline.web.render import render
from syncline.web.session import COOKIE_NAME, SESSION_SECONDS, new_session
from syncline.web.users import SignedForm, catalog_of

logger = logging.getLogger(__name__)

router = APIRouter()

_LOGIN_CSRF = "syncline_login_csrf"


def _safe_next(target: str) -> str:
    # Only paths of this site: "//host" or a scheme would send the person elsewhere.
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def client_address(request: Request) -> str:
    """The address a request came from (the proxy's own unless the server trusts it)."""
    return request.client.host if request.client is not None else "unknown"


def _login_page(
    request: Request,
    *,
    next_path: str,
    email: str = "",
    error: str | None = None,
    status: int | None = None,
) -> Response:
    token = secrets.token_urlsafe(24)
    status = status or (400 if error else 200)
    response = render(
        request, "login.html", None, status_code=status,
        csrf=token, next=next_path, email=email, error=error,
    )  # fmt: skip
    response.set_cookie(
        _LOGIN_CSRF, token, max_age=3600, httponly=True, samesite="strict", path="/login"
    )
    return response


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    """The sign-in form."""
    return _login_page(request, next_path=_safe_next(next))


@router.post("/login")
def login(
    request: Request,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the credentials and set the session cookie, or show the form again."""
    next_path = _safe_next(next)
    expected = request.cookies.get(_LOGIN_CSRF, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        message = "The form expired; sign in again."
        return _login_page(request, next_path=next_path, email=email, error=message)

    catalog = catalog_of(request)
    address = client_address(request)
    with catalog.session() as unit:
        throttle = SignInThrottle(unit.orm)
        wait = throttle.wait(email, address)
        if wait is None:
            record = UserRepository(unit.orm).verify(email, password)
            user_id = record.id if record is not None else None
            if user_id is None:
                throttle.failed(email, address)
            else:
                throttle.succeeded(email)
    if wait is not None:
        # Refused unchecked: a right password must not get through while guessing goes on.
        logger.info("a sign-in was refused for %s more", wait)
        return _login_page(
            request, next_path=next_path, email=email, error=wait_text(wait), status=429
        )
    if user_id is None:
        logger.info("a sign-in failed")
        message = "The e-mail address or the password is wrong."
        return _login_page(request, next_path=next_path, email=email, error=message)

    response = RedirectResponse(next_path, status_code=303)
    set_session_cookie(request, response, user_id)
    response.delete_cookie(_LOGIN_CSRF, path="/login")
    logger.info("user %s signed in", user_id)
    return response


def set_session_cookie(request: Request, response: Response, user_id: int) -> None:
    """Start a new session of ``user_id`` in the browser ``response`` goes to."""
    response.set_cookie(
        COOKIE_NAME,
        new_session(user_id).seal(catalog_of(request).secrets),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


@router.post("/logout")
def logout(request: Request, form: SignedForm) -> Response:
    """End the user's sessions (a copied cookie stops working too); any role may."""
    with catalog_of(request).session() as unit:
        UserRepository(unit.orm).sign_out(form.user.id)
    logger.info("user %s signed out", form.user.id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response
