"""Every error the API answers with, in the bodies Hightouch clients expect (API.md 4.9, 9.1).

=====  ===============================================  ===================================
code   body                                             raised as
=====  ===============================================  ===================================
401    ``{"message": "Authentication error", ...}``     :class:`AuthenticationError`
404    ``{"message": "Not found", "details": "..."}``   :class:`~syncline.errors.NotFoundError`
409    ``{"message": "<the conflict>", ...}``           :class:`~syncline.catalog.ConflictError`
413    ``{"message": "Content too large", ...}``        :func:`content_too_large`
422    ``{"message": "Validation failed", ...}``        :class:`~syncline.errors.UserError`,
                                                        and FastAPI's request validation
429    ``{"error": "rate limit exceeded"}``             :class:`RateLimited`
500    ``"Internal Server Error"``                      anything else; logged, never shown
=====  ===============================================  ===================================

The 409 and 422 ``details`` map where a problem was found (``body.slug``,
``query.limit``, ``path.syncId``) to ``{"message": ..., "value": ...}``, every problem
of the request at once. A 409 has one problem, the conflict, whose message is also the
body's: a client that shows only ``message`` shows what conflicts. A value longer than
:data:`ECHO_LIMIT` characters is repeated cut short, so a 20 MB field is not sent back
whole. Routes raise the catalog's own errors; this module alone decides how they look on
the wire.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, RootModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from syncline.api.booleans import not_a_boolean
from syncline.catalog.errors import ConflictError, SlugTakenError
from syncline.catalog.models import QUERY_TYPE_FIX
from syncline.errors import NotFoundError, Problem, UserError, ValidationError
from syncline.numerals import number_or_text

logger = logging.getLogger(__name__)

_PLACES = ("body", "query", "path", "header")


class AuthenticationError(Exception):
    """The request carries no key, or a key that is unknown or revoked."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.details = details


class RateLimited(Exception):
    """The workspace used up its requests for the current window."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limit exceeded; retry in {retry_after} s")
        self.retry_after = retry_after


class RequestRefused(StarletteHTTPException):
    """A request answered before its body was read (see :mod:`syncline.api.middleware`).

    It is raised from inside the body's reading, wherever a route or a page reads it,
    so it must pass the frameworks' handling of read errors: FastAPI lets an
    ``HTTPException`` through and turns anything else into a 400.
    """

    def __init__(self, response: JSONResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


# -- the bodies, as the OpenAPI document declares them ------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldProblem(_Strict):
    """One problem of a request: what is wrong, and the value found there."""

    message: str
    value: Any = None


class ValidateErrorJSON(_Strict):
    """A 409 or 422 body: every problem of the request, keyed by where it was found."""

    message: Literal["Validation failed"]
    details: dict[str, FieldProblem]


class ConflictErrorJSON(_Strict):
    """A 409 body: the conflict, and where it was found (the shape of a 422's)."""

    message: str
    details: dict[str, FieldProblem]


class ErrorMessage(_Strict):
    """A 401 or 404 body: what went wrong, and the particulars."""

    message: str
    details: str


class TriggerErrorResponse(_Strict):
    """A 429 body."""

    error: str


class InternalServerError(RootModel[Literal["Internal Server Error"]]):
    """A 500 body: the bare JSON string, so nothing about the failure leaks."""


COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorMessage, "description": "No key, or the key is unknown or revoked"},
    422: {"model": ValidateErrorJSON, "description": "Validation failed"},
    429: {"model": TriggerErrorResponse, "description": "Over 200 requests in 10 seconds"},
    500: {"model": InternalServerError, "description": "Internal Server Error"},
}
"""Responses every authenticated operation can give; routers declare them once."""

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorMessage, "description": "No such resource in the key's workspace"},
}

CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ConflictErrorJSON,
        "description": "The slug is taken, others depend on it, or a run is in its way",
    },
}


# -- building bodies ------------------------------------------------------------------------


def problem_key(location: str, default: str = "body") -> str:
    """``location`` keyed by where it was found: ``slug`` becomes ``body.slug``."""
    head = location.split(".", 1)[0]
    return location if head in _PLACES else f"{default}.{location}"


def problem_details(problems: Iterable[Problem], default: str = "body") -> dict[str, Any]:
    """The ``details`` of a 422 body; two problems at one place are joined into one."""
    details: dict[str, dict[str, Any]] = {}
    for problem in problems:
        key = problem_key(problem.location, default)
        message = problem.message if not problem.fix else f"{problem.message}; {problem.fix}"
        if key in details:
            details[key]["message"] += f"; {message}"
        else:
            value = None if problem.message == "Field required" else problem.value
            details[key] = {"message": message, "value": jsonable_encoder(value)}
    return details


ECHO_LIMIT = 300
"""Characters of a value a 409 or 422 repeats; a longer one is cut and marked."""


def echoed(value: Any) -> Any:
    """``value`` as an error repeats it: whole when short, else its start, marked as cut.

    ``value`` is JSON-ready (see ``jsonable_encoder``). A long string is cut to a
    shorter string; a long array or object becomes the start of its JSON text.
    """
    if isinstance(value, str):
        text = value
    elif isinstance(value, list | dict):
        text = json.dumps(value, ensure_ascii=False, default=str)
    elif isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    else:
        return value  # None, a bool or a float: short by nature
    if len(text) <= ECHO_LIMIT:
        return value
    return f"{text[:ECHO_LIMIT]}... (cut: {len(text)} characters in all)"


def validation_failed(
    status: int, details: Mapping[str, Any], message: str = "Validation failed"
) -> JSONResponse:
    """A 409 or 422 response with the ValidateErrorJSON body, long values cut short; a
    409 gives the conflict as its ``message``."""
    shown = {
        key: {**problem, "value": echoed(problem.get("value"))} for key, problem in details.items()
    }
    return JSONResponse({"message": message, "details": shown}, status)


def authentication_failed(exc: AuthenticationError) -> JSONResponse:
    """The 401 response to a request without a valid key."""
    return JSONResponse(
        {"message": "Authentication error", "details": exc.details},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


def too_many_requests(exc: RateLimited) -> JSONResponse:
    """The 429 response to a workspace over its rate limit."""
    return JSONResponse(
        {"error": "rate limit exceeded"},
        status_code=429,
        headers={"Retry-After": str(exc.retry_after)},
    )


def content_too_large(limit: int) -> JSONResponse:
    """The 413 response to a body larger than ``limit`` bytes."""
    details = (
        f"the request body is larger than {limit} bytes, this server's limit; send less, "
        "or raise SYNCLINE_REQUEST_BODY_LIMIT on the server"
    )
    return JSONResponse({"message": "Content too large", "details": details}, 413)


FORM_MEDIA = "application/x-www-form-urlencoded"


def not_json(error: ValueError) -> str:
    """Why a body that should be JSON cannot be parsed, where, and what to do."""
    if isinstance(error, json.JSONDecodeError):
        reason = error.msg[:1].lower() + error.msg[1:]
        where = f"line {error.lineno}, column {error.colno} (character {error.pos})"
        return (
            f"the body is not valid JSON: {reason} at {where}; correct the JSON there "
            "(a missing or extra comma, quote or bracket) and send it again"
        )
    return "the body is not valid JSON: it is not UTF-8 text; send it encoded as UTF-8"


def not_json_media(media: str, *, form: bool = False) -> str:
    """Why a body sent as ``media`` is not read, and the header to send instead."""
    accepted = "JSON" if not form else f"JSON or a form ({FORM_MEDIA})"
    return (
        f"the body is sent as {media!r}, but this operation reads {accepted}; send the "
        "header Content-Type: application/json with a JSON body (curl: "
        "-H 'Content-Type: application/json')"
    )


# -- handlers -------------------------------------------------------------------------------


async def _authentication(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AuthenticationError)
    return authentication_failed(exc)


async def _rate_limited(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    return too_many_requests(exc)


async def _refused(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestRefused)
    return exc.response


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NotFoundError)
    # The catalog's message lists other resources as a hint; the API names only the one,
    # cut as a 409 or 422 cuts what it repeats (a slug may be as long as a body).
    ident = echoed(exc.ident if isinstance(exc.ident, int) else str(exc.ident))
    return JSONResponse(
        {"message": "Not found", "details": f"{exc.kind} {ident} does not exist"}, 404
    )


async def _conflict(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ConflictError)
    if isinstance(exc, SlugTakenError):
        slug = {"body.slug": {"message": exc.message, "value": exc.slug}}
        return validation_failed(409, slug, exc.message)

    # A delete refused because others depend on the resource, a change a run is in the way
    # of: the path names the resource, by its first parameter unless the error says which.
    params = request.path_params
    name = exc.where if exc.where in params else next(iter(params), "id")
    value = params.get(name)
    if isinstance(value, str):
        value = number_or_text(value)
    conflict = {f"path.{name}": {"message": exc.message, "value": value}}
    return validation_failed(409, conflict, exc.message)


async def _user_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UserError)
    if isinstance(exc, ValidationError):
        return validation_failed(422, problem_details(exc.problems))
    return validation_failed(422, {"body": {"message": exc.message, "value": None}})


_NOT_BOOLEAN = frozenset({"bool_type", "bool_parsing"})
"""pydantic's errors for a value that is no boolean, said the API's way instead."""

_FIXED_ON_CHANGE = {
    "type": "the type cannot change; create a new one of the new type, point its users to "
    "it, then delete this one",
    "slug": "the slug cannot change; create a new one under the new slug instead",
}
"""Why a change (PATCH) may not carry these keys, instead of a bare "extra input"."""


_OTHER_QUERY_TYPES = frozenset({"custom", "dbt", "dbtModel", "visual"})
"""Keys of Hightouch's model query types that Syncline does not run, said as such."""


def _extra_key_message(request: Request, key: str) -> str | None:
    """What an unknown key of a body means, where more can be said than "extra input"."""
    fixed = _FIXED_ON_CHANGE.get(key)
    if request.method == "PATCH" and fixed:
        return fixed
    # /api/v1/models or /api/v1/models/{id}: a model's body
    resource = request.url.path.strip("/").split("/")[2:3]
    if key in _OTHER_QUERY_TYPES and resource == ["models"]:
        return f"query type {key!r} is not supported; {QUERY_TYPE_FIX}"
    return None


async def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details: dict[str, dict[str, Any]] = {}
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).replace("Value error, ", "")
        if error["type"] in _NOT_BOOLEAN and error["loc"]:
            message = not_a_boolean(str(error["loc"][-1]), error.get("input"))
        if error["type"] == "extra_forbidden" and error["loc"]:
            message = _extra_key_message(request, str(error["loc"][-1])) or message
        if key in details:
            details[key]["message"] += f"; {message}"
            continue
        # A missing field's "input" is the object around it, which is no help.
        found = None if error["type"] == "missing" else error.get("input")
        value = jsonable_encoder(found, custom_encoder={bytes: _text})
        details[key] = {"message": message, "value": value}
    return validation_failed(422, details)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette's own errors: an unknown path (404) or method (405), and a body that
    # cannot be parsed at all (400), which is a validation failure like any other.
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        problem = {"message": f"the request body cannot be read: {exc.detail}", "value": None}
        return validation_failed(422, {"body": problem})
    if exc.status_code == 405:
        return method_not_allowed(request, exc)
    message = "Not found" if exc.status_code == 404 else str(exc.detail)
    details = "no such endpoint" if exc.status_code == 404 else str(exc.detail)
    return JSONResponse(
        {"message": message, "details": details}, exc.status_code, headers=exc.headers
    )


def method_not_allowed(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """The 405 response, its ``Allow`` naming every method of the path.

    The methods come from the app's ``path_methods`` (see :mod:`syncline.api.paths`);
    a path it does not know keeps the methods Starlette named.
    """
    index = getattr(request.app.state, "path_methods", None)
    allowed = index.allowed(request.scope["path"]) if index is not None else []
    if not allowed:
        named = (exc.headers or {}).get("Allow", "")
        allowed = [method.strip() for method in named.split(",") if method.strip()]
    use = " or ".join([", ".join(allowed[:-1]), allowed[-1]] if len(allowed) > 1 else allowed)
    details = f"{request.method} is not an operation of this path; use {use}"
    return JSONResponse(
        {"message": "Method Not Allowed", "details": details},
        405,
        headers={"Allow": ", ".join(allowed)},
    )


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    # The traceback goes to the server log only; the client learns nothing of it.
    logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse("Internal Server Error", status_code=500)


def _text(value: bytes) -> str:
    return value.decode("utf-8", errors="replace")


def install(app: FastAPI) -> None:
    """Register every handler of this module on ``app``."""
    app.add_exception_handler(AuthenticationError, _authentication)
    app.add_exception_handler(RateLimited, _rate_limited)
    app.add_exception_handler(RequestRefused, _refused)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(ConflictError, _conflict)
    app.add_exception_handler(UserError, _user_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal)
