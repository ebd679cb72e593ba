"""The webhook destination: rows as signed JSON requests, several in flight at once.

Every engine batch is split into requests of ``batch_size`` rows, sent up to
``concurrency`` at a time over one connection pool; before each request the run's stop
check is asked, so a cancel waits only for the requests in flight. An engine batch is
:data:`REQUEST_WAVES` rounds of such requests, since the snapshot journal learns which
rows were acknowledged only when a whole batch returns. Each request body is::

    {"syncId": 7, "runId": 41, "object": "contacts", "action": "upsert",
     "rows": [{"id": 1, "email": "a@example.com"}, ...]}

``action`` is the batch's action (``upsert``, ``update``, ``insert``, ``append`` or
``delete``; a ``delete`` row carries only the id field). Row values follow
:mod:`syncline.connectors.destinations.files.values`: ISO 8601 timestamps with an
offset, decimals as exact strings, JSON fields embedded. What the receiver answers
decides each row's fate (see :mod:`.client`); signatures are in :mod:`.signing`.
"""

from __future__ import annotations

import logging
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import httpx
import pyarrow.compute as pc

from syncline.connectors.destinations.base import (
    BatchResult,
    Capabilities,
    Destination,
    RowFailure,
    SyncMode,
    WriteBatch,
    WriteContext,
)
from syncline.connectors.destinations.files.values import mark_logical, to_json_rows
from syncline.connectors.destinations.webhook.client import (
    AnswerTooLarge,
    Sender,
    encode_body,
    is_html_page,
)
from syncline.connectors.destinations.webhook.spec import WebhookConfig
from syncline.errors import TerminalError, TransientError

logger = logging.getLogger(__name__)

REQUEST_WAVES = 4
"""Rounds of ``concurrency`` requests that make one engine batch.

A killed process loses the acknowledgements of the batch in flight (the next run sends
those rows again), so a batch should be a few requests, not 10,000 rows; yet each batch
costs journal writes and a progress report, and its last round waits for its slowest
request. Against a receiver on loopback, 20,000 rows in requests of 25 took about 6%
longer in batches of four rounds than in batches of 10,000, and no longer in requests of
100; a kill resends at most four requests per connection."""


@dataclass
class _Open:
    """The run's HTTP client, its sender and the pool of request threads."""

    context: WriteContext
    client: httpx.Client
    sender: Sender
    pool: ThreadPoolExecutor


def _client(config: WebhookConfig) -> httpx.Client:
    headers = {name: value.get_secret_value() for name, value in config.headers.items()}
    return httpx.Client(
        headers=headers,
        timeout=httpx.Timeout(config.timeout),
        limits=httpx.Limits(
            max_connections=config.concurrency, max_keepalive_connections=config.concurrency
        ),
        follow_redirects=False,
        # Only the configured address is contacted: no proxy from the environment.
        trust_env=False,
    )


class WebhookDestination(Destination):
    """Sends rows to an HTTP endpoint as JSON, signed when a secret is set."""

    type_name = "webhook"
    config_model = WebhookConfig
    capabilities = Capabilities(
        modes=frozenset(SyncMode),
        max_batch_rows=10_000,
        # Requests of one batch already go out in parallel (``concurrency``); batches
        # themselves are handed over one after another.
        max_concurrency=1,
        per_row_results=True,
        creates_objects=False,
        # The client retries each request ``max_retries`` times; the engine adds none.
        retries_writes=True,
    )

    def __init__(self, config: WebhookConfig) -> None:
        super().__init__(config)
        self.settings = config
        self._open: _Open | None = None

    @property
    def batch_rows(self) -> int:
        """Rows per engine batch: :data:`REQUEST_WAVES` rounds of ``concurrency`` requests
        of ``batch_size`` rows, within the 10,000 the engine hands over at most."""
        wave = self.settings.batch_size * self.settings.concurrency
        return min(wave * REQUEST_WAVES, self.capabilities.max_batch_rows)

    def test(self) -> None:
        """Send a signed request with action ``test`` and no rows; a 2xx passes, but not a page."""
        body = encode_body({"syncId": None, "runId": None, "object": None, "action": "test"}, [])
        with _client(self.settings) as client:
            sender = Sender(self.settings, client)
            try:
                response = sender.request(body)
            except httpx.HTTPError as exc:
                raise TransientError(
                    f"webhook {sender.host} could not be reached ({type(exc).__name__}); "
                    "check the url and that the receiver is running",
                    connector=self.type_name,
                ) from None
            except AnswerTooLarge as exc:
                # A run would refuse the rows of every such answer; other statuses say
                # enough without the body.
                if 200 <= exc.response.status_code < 300:
                    raise TerminalError(
                        f"webhook {sender.host} answered the test request {exc}; make the "
                        "receiver answer briefly, or raise max_response_bytes",
                        connector=self.type_name,
                    ) from None
                response = exc.response

        status = response.status_code
        if 200 <= status < 300 and is_html_page(response):
            raise TerminalError(
                f"webhook {sender.host} answered HTTP {status} with an HTML page to the test "
                "request, not a webhook answer; check that the url is the receiver's",
                connector=self.type_name,
            )
        if 200 <= status < 300:
            return
        if status == 429 or status >= 500:
            raise TransientError(
                f"webhook {sender.host} answered HTTP {status} to the test request",
                connector=self.type_name,
            )
        hint = "check the headers and secret" if status in (401, 403) else "check the url"
        raise TerminalError(
            f"webhook {sender.host} answered HTTP {status} to the test request; {hint} "
            '(a receiver must answer 2xx to {"action": "test"})',
            connector=self.type_name,
        )

    def open(self, context: WriteContext) -> None:
        """Open the connection pool and the request threads for one run."""
        client = _client(self.settings)
        try:
            sender = Sender(self.settings, client)
        except (TerminalError, TransientError):
            client.close()
            raise
        self._open = _Open(
            context=context,
            client=client,
            sender=sender,
            pool=ThreadPoolExecutor(
                max_workers=self.settings.concurrency, thread_name_prefix="syncline-webhook"
            ),
        )

    def write_batch(self, batch: WriteBatch) -> BatchResult:
        """Send the batch in requests of ``batch_size`` rows and collect refused rows.

        A terminal answer (credentials refused, a redirect), a request left unanswered or
        still throttled (429, 503) after its retries, once the receiver answered others,
        is returned in the result (:attr:`BatchResult.error`), with the rows of the
        requests it did not answer as unsent: the answered ones are committed, and the
        unsent ones are left to the next run, since each request has had its retries.

        Raises:
            TerminalError: the receiver refused the credentials or redirected before it
                answered any request of the batch.
            TransientError: the webhook answered no request of the batch, retries
                included, or kept answering 429 or 503.
        """
        if self._open is None:
            raise RuntimeError("open() must be called before write_batch()")
        state = self._open

        rendered = to_json_rows(mark_logical(batch.records, state.context.fields))
        failures = [
            RowFailure(row, reason, False) for row, reason in sorted(rendered.invalid.items())
        ]
        sendable = pc.indices_nonzero(pc.is_valid(rendered.lines)).to_pylist()
        lines = rendered.lines.drop_null().to_pylist()

        head = {
            "syncId": state.context.sync_id,
            "runId": state.context.run_id,
            "object": state.context.object,
            "action": batch.action.value,
        }
        size = self.settings.batch_size
        requests: list[tuple[int, Future[list[RowFailure]]]] = []
        stopping = False
        for start in range(0, len(lines), size):
            # At most ``concurrency`` requests in flight, so a stop is seen between them.
            pending = [future for _, future in requests if not future.done()]
            if len(pending) >= self.settings.concurrency:
                wait(pending, return_when=FIRST_COMPLETED)
            if any(f.done() and f.exception() is not None for _, f in requests):
                break  # the batch fails: sending more of it is no use
            if state.context.stop_requested():
                stopping = True
                break
            body = encode_body(head, lines[start : start + size])
            rows = min(size, len(lines) - start)
            requests.append((start, state.pool.submit(state.sender.deliver, body, rows)))

        terminal: TerminalError | None = None
        unanswered: TransientError | None = None
        # Rows of requests not sent, not answered or refused as a whole by a terminal
        # answer: the receiver accepted none of them.
        unsent: list[int] = sendable[len(requests) * size :]
        for start, future in requests:
            request_rows = sendable[start : start + size]
            if (terminal or unanswered) is not None and future.cancel():
                unsent.extend(request_rows)
                continue
            try:
                refused = future.result()
            except TerminalError as exc:
                terminal = terminal or exc
                unsent.extend(request_rows)
                continue
            except TransientError as exc:
                unanswered = unanswered or exc
                unsent.extend(request_rows)
                continue
            failures.extend(
                RowFailure(sendable[start + f.index], f.reason, f.retryable) for f in refused
            )
        unsent.sort()
        error = terminal or unanswered
        if error is not None and len(unsent) == len(sendable):
            raise error  # the receiver answered nothing of the batch

        failures.sort(key=lambda f: f.index)
        if terminal is not None:
            why = f", {len(unsent)} not accepted before the webhook failed the run"
        elif unanswered is not None and unanswered.code == "DESTINATION_THROTTLED":
            why = f", {len(unsent)} left unsent because the webhook is throttling"
        elif unanswered is not None:
            why = f", {len(unsent)} unanswered"
        elif stopping:
            why = f", {len(unsent)} left unsent because the run is stopping"
        else:
            why = ""
        logger.info(
            "webhook %s: %d %s rows in %d requests, %d refused%s",
            state.sender.host,
            len(batch) - len(unsent),
            batch.action.value,
            len(requests),
            len(failures),
            why if unsent else "",
            extra={"sync_id": state.context.sync_id, "run_id": state.context.run_id},
        )
        return BatchResult(failures, unsent, error)

    def close(self) -> None:
        """Wait for requests in flight, then close the connection pool."""
        if self._open is None:
            return
        self._open.pool.shutdown(wait=True, cancel_futures=True)
        self._open.client.close()
        self._open = None


def describe(config: dict[str, Any]) -> dict[str, Any]:
    """The configuration as shown to people: header values and the secret masked."""
    parsed = WebhookConfig.parse(config)
    shown = parsed.model_dump(mode="json")
    shown["headers"] = {name: "********" for name in parsed.headers}
    if parsed.secret is not None:
        shown["secret"] = "********"
    return shown
