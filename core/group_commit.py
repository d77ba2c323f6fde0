"""Group commit: what arrives while one transaction is in flight is written in the next, so a
burst costs a transaction per batch, not per tip, and each caller still answers only after its
own rows are committed. A `DomainError` is retried item by item; any other failure fails the
whole batch (never written twice). Design and figures: docs/web-intake.md, docs/benchmarks.md."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from core.errors import DomainError

T = TypeVar("T")
P = TypeVar("P")
R = TypeVar("R")

log = logging.getLogger(__name__)

#: Rows per transaction at most: big enough to absorb a burst on one worker, small enough
#: that one transaction stays short (locks, memory) and a failure touches few callers.
MAX_BATCH = 64


class WriterStopped(RuntimeError):
    """The writer was stopped (shutdown) before this item was written."""


class GroupCommit(Generic[T, P, R]):
    """Queue items; `prepare` turns a batch into what `write` stores (or, for an item it
    refuses, the exception for that caller), and `write` stores a batch in one transaction,
    returning one result per item in order. `read_ahead`, if given, may replace a batch's
    items by better-informed ones while the previous batch is written. One writer task at a
    time, started on demand."""

    def __init__(
        self,
        prepare: Callable[[Sequence[T]], Awaitable[Sequence[P | Exception]]],
        write: Callable[[Sequence[P]], Awaitable[Sequence[R]]],
        *,
        max_batch: int = MAX_BATCH,
        read_ahead: Callable[[Sequence[T]], Awaitable[Sequence[T]]] | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._prepare = prepare
        self._write = write
        self._read_ahead = read_ahead
        self.max_batch = max_batch
        self._queue: deque[tuple[T, asyncio.Future[R]]] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()
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
        self._arrived.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="group-commit")
        return await asyncio.shield(future)

    async def close(self) -> None:
        """Let the writer finish what is queued (called before the database closes)."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)

    async def _drain(self) -> None:
        ahead: list[tuple[T, asyncio.Future[R]]] = []  # taken (and read ahead), not yet prepared
        in_hand: list[asyncio.Future[R]] = []  # prepared, in a write this task awaits itself
        writing: asyncio.Task[None] | None = None  # a write in flight (with a read-ahead only)
        try:
            while self._queue or ahead or writing is not None:
                # Take more while a write is in flight (their read-ahead overlaps it) or when
                # nothing is in hand; once the write is done, what is in hand goes first.
                if self._queue and len(ahead) < self.max_batch and (writing is not None or not ahead):
                    start = len(ahead)
                    ahead += [
                        self._queue.popleft() for _ in range(min(len(self._queue), self.max_batch - start))
                    ]
                    if self._read_ahead is not None:
                        ahead[start:] = await self._read_ahead_or_keep(ahead[start:])
                    if writing is not None and not writing.done():
                        continue  # read ahead what came meanwhile, until the write is done
                if writing is not None:
                    if not writing.done() and len(ahead) < self.max_batch:
                        await self._arrival_or(writing)
                        continue
                    await writing  # settles its own callers
                    writing = None
                    continue
                if not ahead:
                    continue
                in_hand = [future for _, future in ahead]
                batch = await self._prepare_batch([item for item, _ in ahead], in_hand)
                ahead = []
                if self._read_ahead is None:
                    await self._write_batch(batch)  # nothing to overlap: write, then take more
                else:
                    writing = asyncio.create_task(self._write_batch(batch), name="group-commit-write")
                in_hand = []
        except BaseException as exc:  # cancelled at shutdown: nobody may wait forever
            stopped = WriterStopped("intake stopped before this item was written")
            for future in [*in_hand, *(future for _, future in ahead), *(f for _, f in self._queue)]:
                _settle(future, error=stopped)
            self._queue.clear()
            if writing is not None:
                await asyncio.shield(writing)  # already in a transaction: let it settle its callers
            if not isinstance(exc, Exception):
                raise

    async def _arrival_or(self, writing: asyncio.Task[None]) -> None:
        """Wait until an item is queued or the write in flight is done."""
        self._arrived.clear()
        if self._queue:
            return
        arrival = asyncio.ensure_future(self._arrived.wait())
        try:
            await asyncio.wait({arrival, writing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            arrival.cancel()

    async def _read_ahead_or_keep(
        self, taken: list[tuple[T, asyncio.Future[R]]]
    ) -> list[tuple[T, asyncio.Future[R]]]:
        """The read-ahead's items, or the same items if it failed: it only saves work later."""
        assert self._read_ahead is not None
        try:
            better = list(await self._read_ahead([item for item, _ in taken]))
        except Exception:
            log.exception("read-ahead failed; the batch is prepared without it")
            return taken
        if len(better) != len(taken):
            return taken
        return list(zip(better, (future for _, future in taken), strict=True))

    async def _prepare_batch(
        self, items: list[T], futures: list[asyncio.Future[R]]
    ) -> list[tuple[P, asyncio.Future[R]]]:
        try:
            outcomes = await self._prepare(items)
            if len(outcomes) != len(items):
                raise AssertionError(f"{len(outcomes)} prepared for {len(items)} items")
        except Exception as exc:  # nothing was written: every caller of the batch gets it
            for future in futures:
                _settle(future, error=exc)
            return []
        prepared: list[tuple[P, asyncio.Future[R]]] = []
        for outcome, future in zip(outcomes, futures, strict=True):
            if isinstance(outcome, Exception):  # about this item only
                _settle(future, error=outcome)
            else:
                prepared.append((outcome, future))
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
