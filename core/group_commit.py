"""Group commit: what arrives while one transaction is in flight is written in the next.

Why: a burst of reports (a news story, a campaign's QR poster) is the moment intake must not
fall over, and on a small machine most of a tip's cost is per transaction (round trips for
BEGIN, INSERT, COMMIT, and the log write), not per row. Each caller still waits until *its*
rows are committed before it answers, so no receipt is ever shown for an unsaved tip; a
caller alone is written at once (nothing waits for company), and under load the batch grows
by itself up to `max_batch`.

Each item of a batch is first *prepared* (for a tip: triage, owner, deadlines; CPU work)
by the writer, then the batch is written. Prepared in each request instead, every caller's
CPU work would queue ahead of each database round trip of the writer on the event loop, and
the writer sets the pace of a burst. (Preparing the next batch while the previous one is in
the database was tried and measured slower: docs/benchmarks.md.)

A batch is one transaction, so it stands or falls together:

* a domain refusal (`DomainError`: a rule, a taken key) is about one item, so the items are
  then written one by one and only the offending caller gets the error;
* anything else (the database unreachable, a lost connection) fails every caller of the
  batch, who all get "not saved, please retry". Writing them again one by one could store a
  tip twice when a COMMIT's outcome was unknown.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from core.errors import DomainError

T = TypeVar("T")
P = TypeVar("P")
R = TypeVar("R")

#: Rows per transaction at most: big enough to absorb a burst on one worker, small enough
#: that one transaction stays short (locks, memory) and a failure touches few callers.
MAX_BATCH = 64


class WriterStopped(RuntimeError):
    """The writer was stopped (shutdown) before this item was written."""


class GroupCommit(Generic[T, P, R]):
    """Queue items; `prepare` turns each into what `write` stores, and `write` stores a batch
    in one transaction, returning one result per item in order. One writer task at a time,
    started on demand."""

    def __init__(
        self,
        prepare: Callable[[T], Awaitable[P]],
        write: Callable[[Sequence[P]], Awaitable[Sequence[R]]],
        *,
        max_batch: int = MAX_BATCH,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._prepare = prepare
        self._write = write
        self.max_batch = max_batch
        self._queue: deque[tuple[T, asyncio.Future[R]]] = deque()
        self._writer: asyncio.Task[None] | None = None
        #: Transactions and items written so far (the batching shows in their ratio).
        self.batches = 0
        self.items = 0

    async def submit(self, item: T) -> R:
        """Wait until `item` is committed (its result) or refused (the exception).

        If the caller is cancelled meanwhile, the item is still written: it may already be
        inside a transaction, and a half-known outcome is worse than an unread receipt."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)
        self._queue.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="group-commit")
        return await asyncio.shield(future)

    async def close(self) -> None:
        """Let the writer finish what is queued (called before the database closes)."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)

    async def _drain(self) -> None:
        in_hand: list[asyncio.Future[R]] = []  # the batch taken off the queue, until settled
        try:
            while self._queue:
                taken = [self._queue.popleft() for _ in range(min(len(self._queue), self.max_batch))]
                in_hand = [future for _, future in taken]
                await self._write_batch(await self._prepare_batch(taken))
        except BaseException as exc:  # cancelled at shutdown: nobody may wait forever
            stopped = WriterStopped("intake stopped before this item was written")
            for future in [*in_hand, *(future for _, future in self._queue)]:
                _settle(future, error=stopped)
            self._queue.clear()
            if not isinstance(exc, Exception):
                raise

    async def _prepare_batch(
        self, taken: list[tuple[T, asyncio.Future[R]]]
    ) -> list[tuple[P, asyncio.Future[R]]]:
        prepared: list[tuple[P, asyncio.Future[R]]] = []
        for item, future in taken:
            try:
                prepared.append((await self._prepare(item), future))
            except Exception as exc:  # about this item only: nothing was written
                _settle(future, error=exc)
        return prepared

    async def _write_batch(self, batch: list[tuple[P, asyncio.Future[R]]]) -> None:
        if not batch:
            return
        try:
            results = await self._write([item for item, _ in batch])
            if len(results) != len(batch):
                raise AssertionError(f"{len(results)} results for {len(batch)} items")
        except DomainError as exc:
            if len(batch) == 1:
                _settle(batch[0][1], error=exc)
                return
            for pair in batch:  # find the item the rule refused; the others are fine
                await self._write_batch([pair])
            return
        except Exception as exc:
            for _, future in batch:
                _settle(future, error=exc)
            return
        self.batches += 1
        self.items += len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result=result)


def _settle(
    future: asyncio.Future[R], *, result: R | None = None, error: BaseException | None = None
) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]


def _retrieve(future: asyncio.Future[R]) -> None:
    """Mark the outcome as seen: a caller cancelled while waiting will never read it."""
    if not future.cancelled():
        future.exception()
