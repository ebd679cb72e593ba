"""Deliver one request of rows, with retries, and read which rows the receiver refused.

The receiver's answer decides each row's fate:

- 2xx: every row is accepted, except those a 200 or 207 JSON body lists as refused::

      {"results": [{"index": 3, "ok": false, "error": "invalid email", "retryable": false}]}

  ``index`` is the row's position in the request's ``rows``; ``retryable`` defaults to
  true. Rows not listed, or listed with ``"ok": true``, are accepted. An answer that
  breaks this shape (``results`` not a list, an entry without a valid ``index``, a
  body declared JSON that does not parse) cannot vouch for any row it does not name
  properly: those rows are refused as retryable, naming the problem, and a warning is
  logged. A 2xx whose body is an HTML page came from something other than a receiver
  (a wrong path, a login page): the run fails (TerminalError), as for a redirect.
- 401 or 403: the credentials are wrong; the run fails (TerminalError).
- 3xx: the url is wrong (redirects are not followed); the run fails.
- 429, 408, 425 and 5xx, timeouts and connection errors: retried with full-jitter
  exponential backoff, at most ``max_retries`` times; the engine adds no retries of its
  own. A ``Retry-After`` on 429 and 503 is waited out, for at most
  ``max_retry_after``, by every request of the run, since it is the receiver asking
  Syncline as a whole to slow down.
- When a request still gets 429 or 503 after its retries, the receiver is throttling
  or overloaded: the request raises TransientError (``DESTINATION_THROTTLED``) and no
  request of the run is sent after it, so the rows not answered stay unsent, not
  refused, for the next run. When the retries of another answered request run out,
  every row of the request is refused as retryable, so the next run sends them again.
  When the webhook never answered (connection refused, timeouts), nothing was refused:
  the request raises TransientError naming the host and port.
- any other 4xx: every row of the request is refused, not retryable, with the
  receiver's reason.
- an answer whose body is longer than ``max_response_bytes``: the rest is not read. A
  status that decides alone (3xx, 401, 403, retryable) keeps its rule; a 2xx or another
  4xx refuses every row of the request as retryable, since the body was not read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import httpx

from syncline.connectors.destinations.base import RowFailure
from syncline.connectors.destinations.webhook.retry import (
    RETRY_AFTER_STATUSES,
    backoff,
    is_retryable,
)
from syncline.connectors.destinations.webhook.signing import signature_headers
from syncline.connectors.destinations.webhook.spec import WebhookConfig
from syncline.connectors.retry_after import retry_after
from syncline.errors import TerminalError, TransientError
from syncline.security.hosts import vetted_address
from syncline.security.masking import redact

logger = logging.getLogger(__name__)

DELIVERY_HEADER = "X-Syncline-Delivery"
"""An id per request, the same on each retry, so a receiver can drop duplicates."""

_REASON_CHARS = 300

_DROPPED_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})
"""Headers that describe the body as it came over the wire, not as read (decoded)."""


class AnswerTooLarge(Exception):
    """The body of an answer is longer than ``max_response_bytes``; the rest is unread."""

    def __init__(self, response: httpx.Response, limit: int) -> None:
        status = response.status_code
        super().__init__(f"HTTP {status} with a body over max_response_bytes ({limit:,} bytes)")
        self.response = response
        """The answer without its body: its status and headers."""
        self.limit = limit


@dataclass(frozen=True)
class _Attempt:
    """Why an attempt failed in a way worth retrying, and how long the receiver asked to wait."""

    reason: str
    wait: float | None = None
    unanswered: bool = False
    """The webhook gave no answer at all (refused connection, timeout)."""
    throttled: bool = False
    """The webhook answered 429 or 503: it limits Syncline's rate or is overloaded."""


def _detail(response: httpx.Response, secrets: list[str]) -> str:
    """The receiver's own words about a refusal, ``secrets`` masked, shortened.

    A receiver may echo the request's headers; masking before shortening leaves no
    cut-off piece of a secret behind.
    """
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        for key in ("error", "message", "detail"):
            if isinstance(payload.get(key), str):
                return redact(str(payload[key]), *secrets)[:_REASON_CHARS]
    return redact(response.text.strip(), *secrets)[:_REASON_CHARS]


def is_html_page(response: httpx.Response) -> bool:
    """Whether a body is an HTML page, which no webhook receiver answers with."""
    start = response.content[:512].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


@dataclass(frozen=True)
class _Verdicts:
    """What a 2xx answer says about a request's rows."""

    refused: list[RowFailure]
    problem: str | None = None
    """How the answer breaks the protocol, when it does."""


def _verdicts(response: httpx.Response, rows: int) -> _Verdicts:
    """Rows a 200 or 207 body refuses; rows it cannot vouch for when it breaks the protocol."""
    if response.status_code not in (200, 207) or not response.content.strip():
        return _Verdicts([])
    try:
        payload: Any = response.json()
    except ValueError:
        content_type = response.headers.get("Content-Type", "").lower()
        if "json" not in content_type:
            return _Verdicts([])  # text such as "OK": nothing is listed as refused
        return _unvouched(rows, {}, set(), "a body declared JSON that does not parse")
    if isinstance(payload, list):
        return _unvouched(rows, {}, set(), "a JSON list instead of an object with results")
    results = payload.get("results") if isinstance(payload, dict) else None
    if results is None:
        return _Verdicts([])
    if not isinstance(results, list):
        kind = type(results).__name__
        return _unvouched(rows, {}, set(), f'"results" that is a {kind}, not a list')

    failures: dict[int, RowFailure] = {}
    named: set[int] = set()
    problems: list[str] = []
    for position, entry in enumerate(results):
        index = entry.get("index") if isinstance(entry, dict) else None
        if not isinstance(index, int) or isinstance(index, bool):
            problems.append(f"entry {position} without an integer index")
            continue
        if not 0 <= index < rows:
            problems.append(f"index {index} in a request of {rows} rows")
            continue
        named.add(index)
        if entry.get("ok", False) is True:
            continue
        error = entry.get("error")
        reason = str(error)[:_REASON_CHARS] if error else "refused by the webhook"
        failures[index] = RowFailure(index, reason, entry.get("retryable", True) is not False)
    if problems:
        more = f" and {len(problems) - 2} more" if len(problems) > 2 else ""
        return _unvouched(rows, failures, named, ", ".join(problems[:2]) + more)
    return _Verdicts([failures[i] for i in sorted(failures)])


def _unvouched(
    rows: int, failures: dict[int, RowFailure], named: set[int], problem: str
) -> _Verdicts:
    """Verdicts of an answer that breaks the protocol: the rows it names properly keep
    their verdicts; every other row is refused as retryable, because the answer may be
    about it, and sent again on the next run."""
    reason = (
        f"the webhook answered with {problem}, which the webhook protocol does not "
        "allow; the row is not taken as accepted"
    )
    refused = dict(failures)
    for index in range(rows):
        if index not in named:
            refused[index] = RowFailure(index, reason, True)
    return _Verdicts([refused[i] for i in sorted(refused)], problem)


class Sender:
    """Sends request bodies to one webhook with a shared connection pool."""

    def __init__(
        self,
        config: WebhookConfig,
        client: httpx.Client,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.client = client
        self.sleep = sleep
        self.rng = rng or random.Random()
        url = httpx.URL(config.url)
        self.host = url.host
        port = url.port or (443 if url.scheme == "https" else 80)
        self.address = f"{url.host}:{port}"
        self._target, self._extensions = _vetted_target(url, port)
        self._warned = False
        """Whether a protocol problem was logged as a warning: a lasting one is logged once."""
        self._lock = threading.Lock()
        self._resume_at = 0.0
        """The monotonic time before which no request is sent: a ``Retry-After`` holds
        every request of the run, not only the one it answered."""
        self._throttled: str | None = None
        """Why sending stopped, once a request still got 429 or 503 after its retries."""

    def _headers(self, body: bytes, delivery: str) -> dict[str, str]:
        headers = {"Content-Type": "application/json", DELIVERY_HEADER: delivery}
        if self.config.secret is not None:
            headers |= signature_headers(self.config.secret.get_secret_value(), body)
        return headers

    def request(self, body: bytes, delivery: str | None = None) -> httpx.Response:
        """Send ``body`` once and read at most ``max_response_bytes`` of the answer.

        Raises:
            AnswerTooLarge: the answer's body is longer; what was read is dropped.
            httpx.TransportError: the request or the answer failed on the way.
        """
        headers = self._headers(body, delivery or uuid.uuid4().hex)
        headers["Host"] = httpx.URL(self.config.url).netloc.decode("ascii")
        request = self.client.build_request(
            self.config.method,
            self._target,
            content=body,
            headers=headers,
            extensions=self._extensions,
        )
        limit = self.config.max_response_bytes
        response = self.client.send(request, stream=True)
        try:
            content = _read_at_most(response, limit)
        finally:
            response.close()
        if content is None:
            raise AnswerTooLarge(_read(response, request, b""), limit)
        return _read(response, request, content)

    def deliver(self, body: bytes, rows: int) -> list[RowFailure]:
        """Send one request of ``rows`` rows until it is answered; return refused rows.

        Raises:
            TerminalError: the receiver refused the credentials or redirected.
            TransientError: the webhook never answered, retries included; or it still
                answered 429 or 503 after the retries (code ``DESTINATION_THROTTLED``),
                or another request of the run did, so this one was not sent.
        """
        delivery = delivery_id(body)
        attempts = self.config.max_retries + 1
        last = _Attempt("not sent")
        for attempt in range(attempts):
            self._wait_out_hold()
            outcome = self._attempt(body, rows, delivery)
            if isinstance(outcome, list):
                return outcome
            last = outcome
            if attempt + 1 == attempts:
                break

            wait = self._retry_wait(outcome, attempt)
            # The first retry of a request is worth a warning; the rest would only repeat it.
            logger.log(
                logging.WARNING if attempt == 0 else logging.INFO,
                "webhook %s: %s; retry %d of %d in %.2fs",
                self.address,
                outcome.reason,
                attempt + 1,
                self.config.max_retries,
                wait,
            )
            self.sleep(wait)

        plural = "s" if attempts > 1 else ""
        if last.unanswered:
            raise TransientError(
                f"webhook {self.address} did not answer after {attempts} attempt{plural}: "
                f"{last.reason}; check the url and that the receiver is running",
                connector="webhook",
                code="DESTINATION_UNREACHABLE",
            )
        if last.throttled:
            self._stop_sending(
                f"webhook {self.address} still answered {last.reason} after {attempts} "
                f"attempt{plural}, so this run sent it nothing more: the rows not sent are "
                "left unsent for the next run, none rejected; lower concurrency, or raise "
                "max_retries or max_retry_after"
            )
        reason = f"gave up after {attempts} attempt{plural}: {last.reason}"
        return [RowFailure(i, reason, True) for i in range(rows)]

    def _retry_wait(self, outcome: _Attempt, attempt: int) -> float:
        """Seconds before retry ``attempt`` (0 for the first): the backoff, or what the
        receiver asked for, at most ``max_retry_after``, which then holds every request."""
        if outcome.wait is None:
            return backoff(
                attempt, base=self.config.backoff_base, cap=self.config.backoff_max, rng=self.rng
            )

        wait = min(outcome.wait, self.config.max_retry_after)
        if outcome.wait > wait:
            logger.warning(
                "webhook %s asked to wait %.0fs, longer than max_retry_after (%gs); "
                "retrying after %gs",
                self.address,
                outcome.wait,
                self.config.max_retry_after,
                wait,
            )
        with self._lock:
            self._resume_at = max(self._resume_at, time.monotonic() + wait)
        return wait

    def _wait_out_hold(self) -> None:
        """Wait until the receiver's last ``Retry-After`` has passed; refuse to send once
        the run stopped sending because the receiver kept throttling.

        Raises:
            TransientError: a request of the run still got 429 or 503 after its retries.
        """
        with self._lock:
            left = self._resume_at - time.monotonic()
        if left > 0:
            self.sleep(left)
        if self._throttled is not None:
            raise TransientError(self._throttled, connector="webhook", code="DESTINATION_THROTTLED")

    def _stop_sending(self, reason: str) -> NoReturn:
        """Stop every request of the run for ``reason``, this one first.

        Raises:
            TransientError: always, with code ``DESTINATION_THROTTLED``.
        """
        with self._lock:
            self._throttled = self._throttled or reason
        raise TransientError(reason, connector="webhook", code="DESTINATION_THROTTLED")

    def _warn_once(self, message: str, *args: object) -> None:
        """Log a refused answer: the first as a warning, later ones at DEBUG, since they
        would only repeat it (each refused row keeps its own reason)."""
        level = logging.DEBUG if self._warned else logging.WARNING
        self._warned = True
        logger.log(level, message, *args)

    def _protocol_problem(self, status: int, verdicts: _Verdicts, rows: int) -> None:
        self._warn_once(
            "webhook %s answered HTTP %d with %s, which the webhook protocol does not "
            "allow; %d of the request's %d rows are refused and sent again next run",
            self.address,
            status,
            verdicts.problem,
            len(verdicts.refused),
            rows,
        )

    def _too_large(self, answer: AnswerTooLarge, rows: int) -> list[RowFailure]:
        """Refuse every row of a request whose answer was too long to read: it may refuse
        any of them, so none is taken as accepted, and the next run sends them again."""
        self._warn_once(
            "webhook %s answered %s, left unread; the request's %d rows are refused and "
            "sent again next run",
            self.address,
            answer,
            rows,
        )
        reason = (
            f"the webhook answered {answer}, left unread, so no row of the request is "
            "taken as accepted; make the receiver answer briefly, or raise max_response_bytes"
        )
        return [RowFailure(i, reason, True) for i in range(rows)]

    def _attempt(self, body: bytes, rows: int, delivery: str) -> list[RowFailure] | _Attempt:
        started = time.monotonic()
        try:
            response = self.request(body, delivery)
        except httpx.TimeoutException:
            return _Attempt(f"no answer within {self.config.timeout:g}s", unanswered=True)
        except httpx.TransportError as exc:
            reason = f"could not reach the webhook ({type(exc).__name__})"
            return _Attempt(reason, unanswered=True)
        except AnswerTooLarge as exc:
            if _needs_body(exc.response.status_code):
                return self._too_large(exc, rows)
            response = exc.response  # its status decides, whatever the body said

        status = response.status_code
        logger.debug(
            "webhook %s answered %d to %d rows in %.3fs",
            self.host,
            status,
            rows,
            time.monotonic() - started,
        )
        if 200 <= status < 300 and is_html_page(response):
            raise TerminalError(
                f"webhook {self.host} answered HTTP {status} with an HTML page, not a "
                "webhook answer; check that the url is the receiver's (a receiver answers "
                "with no body or a JSON body)",
                connector="webhook",
            )
        if 200 <= status < 300:
            verdicts = _verdicts(response, rows)
            if verdicts.problem is not None:
                self._protocol_problem(status, verdicts, rows)
            return verdicts.refused
        if status in (401, 403):
            raise TerminalError(
                f"webhook {self.host} refused the credentials (HTTP {status}); check the "
                "configured headers and secret",
                connector="webhook",
                code="DESTINATION_INVALID_CREDENTIALS",
            )
        if 300 <= status < 400:
            raise TerminalError(
                f"webhook {self.host} redirected the request (HTTP {status}); set the url "
                "to the address that answers, redirects are not followed",
                connector="webhook",
            )
        if is_retryable(status):
            wait = None
            if status in RETRY_AFTER_STATUSES:
                wait = retry_after(response.headers.get("Retry-After"), now=time.time())
            reason = f"HTTP {status} {response.reason_phrase}".strip()
            return _Attempt(reason, wait, throttled=status in RETRY_AFTER_STATUSES)

        reason = f"HTTP {status} {response.reason_phrase}".strip()
        detail = _detail(response, self.config.secret_values())
        reason = f"{reason}: {detail}" if detail else reason
        return [RowFailure(i, reason, False) for i in range(rows)]


def _needs_body(status: int) -> bool:
    """Whether the body of an answer with ``status`` decides the rows' fate: a 2xx may
    list refused rows and another 4xx gives the reason, while redirects, refused
    credentials and retryable statuses are decided by the status alone."""
    if 200 <= status < 300:
        return True
    return 400 <= status < 500 and status not in (401, 403) and not is_retryable(status)


def _vetted_target(url: httpx.URL, port: int) -> tuple[httpx.URL, dict[str, Any]]:
    """The url with its host replaced by the address checked now, and the TLS server name.

    A link-local or metadata host, or a name resolving to one, is refused before any
    request; requests then go to the checked address, so that a name answering
    otherwise later (DNS rebinding) cannot lead them there. The server still sees its
    own name in the Host header and, over TLS, in the handshake, which checks its
    certificate.

    Raises:
        TerminalError: the host is refused.
        TransientError: the host name does not resolve now.
    """
    try:
        address = vetted_address(url.host, port)
    except ValueError as exc:
        raise TerminalError(
            f"webhook url refused: {exc}; point it at the receiver's own host",
            connector="webhook",
        ) from None
    except OSError as exc:
        raise TransientError(
            f"webhook {url.host} could not be looked up ({exc}); check the url",
            connector="webhook",
        ) from None
    extensions: dict[str, Any] = {"sni_hostname": url.host} if url.scheme == "https" else {}
    return url.copy_with(host=address), extensions


def _read(streamed: httpx.Response, request: httpx.Request, content: bytes) -> httpx.Response:
    """``streamed`` as an answer read whole, with ``content`` (decoded) as its body."""
    return httpx.Response(
        streamed.status_code,
        headers=[
            (name, value)
            for name, value in streamed.headers.multi_items()
            if name.lower() not in _DROPPED_HEADERS
        ],
        content=content,
        request=request,
        extensions={"reason_phrase": streamed.extensions.get("reason_phrase", b"")},
    )


def _read_at_most(response: httpx.Response, limit: int) -> bytes | None:
    """The body of a streamed ``response``, decoded, or None when it is longer than
    ``limit`` bytes: read piece by piece, a longer answer costs no more than the limit."""
    pieces: list[bytes] = []
    size = 0
    for piece in response.iter_bytes():
        size += len(piece)
        if size > limit:
            return None
        pieces.append(piece)
    return b"".join(pieces)


def delivery_id(body: bytes) -> str:
    """The ``X-Syncline-Delivery`` id of a request: a digest of its body.

    The body names the sync, the run, the action and the rows, so whichever layer sends
    the same rows again in a run, the receiver sees the same id and can drop the copy;
    a later run, whose ``runId`` differs, sends its rows under a new id, so that a row
    changed back to an earlier value is never taken for a copy.
    """
    return hashlib.sha256(body).hexdigest()[:32]


def encode_body(head: dict[str, Any], rows: list[str]) -> bytes:
    """A request body: ``head``'s members, then ``rows`` (JSON object texts) as ``rows``."""
    prefix = json.dumps(head, separators=(",", ":"))[:-1]
    return f'{prefix},"rows":[{",".join(rows)}]}}'.encode()
