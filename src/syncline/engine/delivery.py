"""Deliver a run's plan: map batches, write them, and commit every acknowledged batch.

Up to the destination's ``write_concurrency`` batches are in flight; the snapshot journal is
written from this thread only: each batch's keys as in doubt right before the batch is
handed over, and its outcome right after the batch's result arrives. A transient
failure of a batch is retried with jittered exponential backoff, sending only the rows
the destination did not write, unless the destination retries by itself (a webhook); a
terminal one stops the run after the batches already in flight have been accounted for.
A batch the destination wrote part of before an error that fails the run is accounted
for too: the rows it acknowledged are committed and counted, then the error fails the run.
"""

from __future__ import annotations

import logging
import random
import time
from collections import deque
from collections.abc import Generator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, replace
from operator import attrgetter

import pyarrow as pa

from syncline.connectors.destinations.base import (
    BatchResult,
    Destination,
    RowFailure,
    WriteAction,
    WriteBatch,
)
from syncline.engine.actions import Step
from syncline.engine.mapping import MappedBatch, RecordMapper, record_payload
from syncline.engine.planner.base import Planner
from syncline.engine.report import RejectedRow, RunProgress, RunReporter, SucceededRows
from syncline.errors import ConnectorError, TerminalError, TransientError

logger = logging.getLogger(__name__)

_by_index = attrgetter("index")

MIN_SPREAD_BATCH_ROWS = 2_000
"""The smallest batch a run cuts so as to keep every connection busy: below it a batch's
fixed costs (a transaction, a journal entry, a request) outweigh its rows."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a batch that failed transiently is retried."""

    retries: int = 4
    base_delay: float = 0.5
    """Seconds before the first retry; doubled on each further one, with jitter."""
    max_delay: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        jittered: float = backoff * random.uniform(0.5, 1.0)
        return max(jittered, retry_after or 0.0)


@dataclass
class _InFlight:
    step: Step
    planned: pa.RecordBatch
    mapped: MappedBatch
    future: Future[BatchResult] | None
    batch: int | None = None
    """The number the journal gave the batch's doubts."""


class Delivery:
    """Sends one run's planned rows to a destination and journals every outcome."""

    def __init__(
        self,
        planner: Planner,
        mapper: RecordMapper,
        destination: Destination,
        reporter: RunReporter,
        progress: RunProgress,
        retry: RetryPolicy,
        succeeded_rows_limit: int = 0,
    ) -> None:
        self.planner = planner
        self.mapper = mapper
        self.destination = destination
        self.reporter = reporter
        self.progress = progress
        if destination.capabilities.retries_writes:
            # The destination has spent the retries its settings allow; more here would
            # multiply them.
            retry = replace(retry, retries=0)
        self.retry = retry
        self.batch_rows = destination.batch_rows
        self.run_batch_rows = self.batch_rows
        """Rows per batch of the run under way (see :meth:`_spread_batch_rows`)."""
        self.stopped = False
        """Set when a destination left rows of a batch unsent because the run is stopping."""
        self.concurrency = destination.write_concurrency
        self.succeeded_rows_left = succeeded_rows_limit
        """How many more acknowledged rows the run keeps for the user to list."""

    def run(self, steps: list[Step]) -> bool:
        """Deliver every sending step; False when a cancellation stopped it early.

        Raises:
            TerminalError, TransientError: a batch could not be written; batches
                acknowledged before it stay committed.
        """
        queue: deque[_InFlight] = deque()
        error: BaseException | None = None
        cancelled = False
        self.run_batch_rows = self._spread_batch_rows(steps)
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="syncline-write") as pool:
            try:
                for step in steps:
                    if not step.sends:
                        continue
                    with closing(self._batches(step)) as batches:
                        for planned in batches:
                            if self.stopped or self.reporter.cancel_requested():
                                cancelled = True
                                break
                            queue.append(self._submit(pool, step, planned))
                            while len(queue) >= self.concurrency:
                                self._complete(queue.popleft())
                    if cancelled:
                        break
            except BaseException as exc:
                error = exc
            # Batches already handed over are accounted for, whatever stopped the run.
            while queue:
                try:
                    self._complete(queue.popleft())
                except BaseException as exc:
                    error = error or exc
        if error is not None:
            raise error
        return not (cancelled or self.stopped)

    def _spread_batch_rows(self, steps: list[Step]) -> int:
        """Rows per batch for this run: the destination's batch size, or less when the run
        sends fewer rows than its connections could take at that size.

        A run of 30,000 changes against batches of 50,000 would otherwise write on one or
        two connections (a batch per operation) while the others stay idle; cut into about
        one batch per connection, the writes go side by side. Never below
        :data:`MIN_SPREAD_BATCH_ROWS`, nor above the destination's batch size.
        """
        if self.concurrency == 1:
            return self.batch_rows
        operations = {step.operation for step in steps if step.sends}
        sending = sum(self.progress.planned.of(op) for op in operations)
        even = -(-sending // self.concurrency)
        return min(self.batch_rows, max(MIN_SPREAD_BATCH_ROWS, even))

    def _batches(self, step: Step) -> Generator[pa.RecordBatch, None, None]:
        return self.planner.planned_batches(
            step.operation, self.run_batch_rows, in_doubt=step.in_doubt
        )

    def _submit(self, pool: ThreadPoolExecutor, step: Step, planned: pa.RecordBatch) -> _InFlight:
        if step.action is WriteAction.DELETE:
            mapped = self.mapper.map_deletes(planned)
        elif step.clear:
            mapped = self.mapper.map_clears(planned)
        else:
            mapped = self.mapper.map_rows(planned, step.operation)
        future: Future[BatchResult] | None = None
        journaled: int | None = None
        if mapped.records.num_rows:
            assert step.action is not None
            batch = WriteBatch(action=step.action, records=mapped.records, keys=mapped.keys)
            # Should the process die before the outcome is journaled, the next run finds
            # these keys in doubt and plans them again.
            journaled = self.planner.store.record_doubt(planned, mapped.rows)
            if self.concurrency > 1:
                future = pool.submit(self._write, batch)
            else:
                # One batch at a time stays on this thread: drivers such as sqlite3 refuse
                # a connection used from another thread than the one that opened it.
                future = Future()
                try:
                    future.set_result(self._write(batch))
                except Exception as exc:
                    future.set_exception(exc)
        return _InFlight(step, planned, mapped, future, journaled)

    def _write(self, batch: WriteBatch) -> BatchResult:
        """Write ``batch``, retrying with backoff what a transient error left unwritten.

        Once the destination has written part of the batch, a retry sends only the rest,
        so that a row is acknowledged once; an error that then ends the retries comes in
        the result (see :attr:`BatchResult.error`) rather than raised, so that the
        written part is still committed.
        """
        attempt = 0
        failures: list[RowFailure] = []
        # Positions in ``batch`` of the rows the destination has not settled yet, and
        # the part of the batch they make, which the next attempt writes.
        left = list(range(len(batch)))
        part = batch
        while True:
            try:
                result = self.destination.write_batch(part)
            except TerminalError as exc:
                if len(left) == len(batch):
                    raise
                return BatchResult(sorted(failures, key=_by_index), left, exc)
            except TransientError as exc:
                error = exc
            else:
                failures.extend(replace(f, index=left[f.index]) for f in _known(result, left))
                unsent = [left[i] for i in result.unsent if 0 <= i < len(left)]
                if not (isinstance(result.error, TransientError) and unsent):
                    return BatchResult(sorted(failures, key=_by_index), unsent, result.error)
                error = result.error
                left = unsent

            attempt += 1
            if attempt > self.retry.retries:
                if len(left) == len(batch):
                    raise error  # nothing of the batch was written
                return BatchResult(sorted(failures, key=_by_index), left, error)
            if len(left) < len(part):
                part = WriteBatch(
                    action=batch.action,
                    records=batch.records.take(pa.array(left, pa.int64())),
                    keys=[batch.keys[i] for i in left],
                )
            delay = self.retry.delay(attempt, error.retry_after)
            logger.warning(
                "batch of %s rows: %s not written, a transient failure (%s); "
                "retry %s of %s in %.1fs",
                len(batch),
                len(left),
                error,
                attempt,
                self.retry.retries,
                delay,
            )
            time.sleep(delay)

    def _complete(self, flight: _InFlight) -> None:
        mapped = flight.mapped
        result = BatchResult()
        if flight.future is not None:
            try:
                result = flight.future.result()
            except ConnectorError:
                # The destination refused the whole batch: nothing of it was written. Any
                # other error leaves the batch in doubt, as a killed process would.
                self.planner.store.withdraw_doubt(flight.planned, mapped.rows)
                raise
        rejected: list[tuple[int, str, str | None]] = [
            (row, reason, None) for row, reason in mapped.rejected
        ]
        # Rows left unsent for a stop or an error are neither acknowledged nor rejected:
        # their doubt is withdrawn and the next run plans them again as it would have.
        unsent = {i for i in result.unsent if 0 <= i < len(mapped.rows)}
        if unsent:
            self.stopped = True
            self.planner.store.withdraw_doubt(
                flight.planned, [mapped.rows[i] for i in sorted(unsent)]
            )
        failed_records: set[int] = set()
        for failure in result.failures:
            if failure.index in failed_records or failure.index in unsent:
                continue
            failed_records.add(failure.index)
            payload = record_payload(mapped.records, failure.index)
            rejected.append((mapped.rows[failure.index], failure.reason, payload))
        acked = mapped.rows
        if failed_records or unsent:
            settled = failed_records | unsent
            acked = [row for i, row in enumerate(mapped.rows) if i not in settled]

        self.planner.store.record(
            flight.planned, acked, [(row, r) for row, r, _ in rejected], batch=flight.batch
        )

        operation = flight.step.operation
        self.progress.successful.add(operation, len(acked))
        self.progress.failed.add(operation, len(rejected))
        if rejected:
            self.reporter.rejected(self._rejected_rows(flight, rejected))
        if acked and self.succeeded_rows_left > 0:
            kept = acked[: self.succeeded_rows_left]
            self.succeeded_rows_left -= len(kept)
            self.reporter.succeeded(self._succeeded_rows(flight, kept))
        self.reporter.progress(self.progress)
        logger.debug(
            "batch of %s %s rows: %s acknowledged, %s rejected",
            flight.planned.num_rows,
            operation.value,
            len(acked),
            len(rejected),
        )
        if result.error is not None:
            # What the destination wrote before the error is committed above; the rest
            # of the run is not sent.
            raise result.error

    def _rejected_rows(
        self, flight: _InFlight, rejected: list[tuple[int, str, str | None]]
    ) -> list[RejectedRow]:
        keys = flight.planned.column("_sl_key").to_pylist()
        attempts = flight.planned.column("_sl_attempts").to_pylist()
        return [
            RejectedRow(
                key=str(keys[row]),
                operation=flight.step.operation,
                reason=reason,
                attempts=int(attempts[row]) + 1,
                payload=payload,
            )
            for row, reason, payload in rejected
        ]

    def _succeeded_rows(self, flight: _InFlight, rows: list[int]) -> SucceededRows:
        # Only the kept rows are taken out of Arrow: a batch may hold 100,000.
        positions = pa.array(rows, pa.int64())
        keys = flight.planned.column("_sl_key").take(positions).to_pylist()
        attempts = flight.planned.column("_sl_attempts").take(positions).to_pylist()
        return SucceededRows(
            operation=flight.step.operation,
            keys=[str(key) for key in keys],
            attempts=[int(tried) + 1 for tried in attempts],
        )


def _known(result: BatchResult, rows: list[int]) -> list[RowFailure]:
    """The failures of ``result`` that name one of its batch's ``rows``."""
    known: list[RowFailure] = []
    for failure in result.failures:
        if 0 <= failure.index < len(rows):
            known.append(failure)
        else:
            logger.warning("destination reported row %s outside the batch", failure.index)
    return known
