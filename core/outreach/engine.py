"""The broadcast engine: delivers running campaigns, one claimed batch at a time.

Per recipient row: claimed with a lease (still `queued`) → a token from the global bucket
→ `sending` (committed, with a lease) → the channel call → `sent` / `blocked` / `failed`,
or back to `queued` for a 429 (not sent: resend after the pause) or a network error
before delivery (resend after a backoff). Rows left in `sending` by a worker that died
are ambiguous; they are recorded as sent, unconfirmed, never resent: at most once for the
few rows in flight, exactly once for everyone else. docs/outreach.md explains the choice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.outreach.bucket import Grant, shape_for
from core.outreach.campaigns import Campaign, DeliveryState
from core.outreach.content import ContentItem, pick_translation
from core.outreach.ports import (
    Bucket,
    ContentRepository,
    DeliveryQueue,
    Outcome,
    Recipient,
    Resolution,
    Sender,
    SendResult,
)

log = logging.getLogger(__name__)

Decrypt = Callable[[str, str], str]


@dataclass(frozen=True)
class EngineConfig:
    #: The bucket's refill rate, messages/s (to judge a late slot).
    rate: float
    #: Lease of a claimed or sending row; a channel call must end well within it.
    lease: float
    #: Pause between looks for work when there is none.
    poll: float
    #: Rows claimed at once.
    batch: int = 200
    #: Calls in flight at once (and rows in the ambiguous `sending` window).
    max_inflight: int = 16
    #: Network errors before a row is `failed`.
    max_attempts: int = 5
    #: At most one message per chat per this many seconds.
    per_chat_interval: float = 1.0
    #: Outcomes are written in groups of this size (or sooner, see `flush_every`).
    flush_size: int = 100
    flush_every: float = 0.25


def config_for(rate: float, lease: float, poll: float) -> EngineConfig:
    """Batches of about two seconds of sending; enough calls in flight to cover ~300 ms of
    Bot API latency at the cap, at most 16: more costs more in httpcore's connection pool
    (it scans every connection per request) than it gains, and widens the ambiguous window."""
    return EngineConfig(
        rate=shape_for(rate).rate,
        lease=lease,
        batch=max(20, min(1000, int(rate * 2))),
        max_inflight=max(4, min(16, int(rate * 0.3))),
        poll=poll,
    )


def backoff(attempt: int) -> float:
    """Seconds before resending after a network error: 2, 4, 8, 16 … at most 60."""
    return float(min(60, 2**attempt))


class BroadcastEngine:
    """One worker. Several may run against one database (PostgreSQL) and one bucket (Redis)."""

    def __init__(
        self,
        queue: DeliveryQueue,
        content: ContentRepository,
        sender: Sender,
        bucket: Bucket,
        decrypt: Decrypt,
        *,
        worker: str,
        config: EngineConfig,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.queue, self.content, self.sender, self.bucket = queue, content, sender, bucket
        self.decrypt = decrypt
        self.worker = worker
        self.config = config
        self.clock = clock
        self.monotonic = monotonic
        self.sleep = sleep
        self._last_sent: OrderedDict[int, float] = OrderedDict()
        self._versions: dict[int, dict[str, ContentItem]] = {}
        self._results: list[Resolution] = []
        self._flushed_at = 0.0
        self._next_recovery = 0.0
        self.sent = 0  # counters for logs and the benchmark
        self.recovered = 0
        self.stale_slots = 0
        self.refused = False  # Telegram refused the bot itself: stop this batch

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; then finish the calls in flight and return."""
        log.info("broadcast worker %s started", self.worker)
        while not stop.is_set():
            try:
                handled = await self.step(stop)
            except Exception:
                # A database or Redis hiccup must not end the worker: log, wait, go on.
                log.exception("broadcast step failed; retrying")
                handled = 0
            if handled == 0:
                try:
                    await asyncio.wait_for(stop.wait(), self.config.poll)
                except TimeoutError:
                    pass
        log.info("broadcast worker %s stopped", self.worker)

    async def step(self, stop: asyncio.Event | None = None) -> int:
        """One pass: recover abandoned rows, start due campaigns, deliver one batch.
        Returns how many rows were handled (0: nothing to do right now)."""
        now = self.clock()
        if self.monotonic() >= self._next_recovery:
            recovered = await self.queue.recover(now)
            if recovered:
                self.recovered += recovered
                log.warning("%d deliveries were in flight when a worker stopped: recorded as sent", recovered)
            self._next_recovery = self.monotonic() + max(1.0, self.config.lease / 4)
        for campaign_id in await self.queue.start_due(now):
            log.info("campaign %d started", campaign_id)
        for campaign in await self.queue.running():
            recipients = await self.queue.claim(
                campaign.id, worker=self.worker, limit=self.config.batch, now=now, lease=self.config.lease
            )
            if recipients:
                await self._deliver(campaign, recipients, stop)
                return len(recipients)
            if await self.queue.finish_if_complete(campaign.id, now):
                self._versions.pop(campaign.id, None)
                log.info("campaign %d done", campaign.id)
        return 0

    async def drain(self) -> None:
        """Run until no campaign is running (tests, the benchmark; wrap in a timeout)."""
        while True:
            if await self.step() == 0:
                if not await self.queue.running():
                    return
                await self.sleep(min(0.2, self.config.poll))

    # --- one batch ----------------------------------------------------------------------

    async def _deliver(
        self, campaign: Campaign, recipients: Sequence[Recipient], stop: asyncio.Event | None
    ) -> None:
        versions = await self._versions_of(campaign)
        pending: deque[Recipient] = deque()
        deferred: list[int] = []
        now_mono = self.monotonic()
        for r in recipients:
            if not r.active or not r.chat_cipher:
                self._results.append(Resolution(r.delivery_id, DeliveryState.SKIPPED, "unsubscribed"))
            elif now_mono - self._last_sent.get(r.subscriber_id, -1e9) < self.config.per_chat_interval:
                deferred.append(r.delivery_id)
            else:
                pending.append(r)
        if deferred:
            later = self.clock() + timedelta(seconds=self.config.per_chat_interval)
            await self.queue.release(deferred, worker=self.worker, next_at=later)
        inflight: set[asyncio.Task[None]] = set()
        grant_task: asyncio.Task[Grant] | None = None
        try:
            while pending:
                if (stop is not None and stop.is_set()) or self.refused:
                    break
                room = self.config.max_inflight - len(inflight)
                if room <= 0:
                    _, inflight = await asyncio.wait(
                        inflight, timeout=self.config.flush_every, return_when=asyncio.FIRST_COMPLETED
                    )
                    await self._maybe_flush()
                    continue
                if grant_task is None:
                    grant_task = asyncio.create_task(self.bucket.acquire(min(len(pending), room)))
                grant = await grant_task
                # Reserve the next slot now, so that it runs while this group is handled.
                grant_task = None
                if self.monotonic() - grant.due > self._tolerance(grant.count):
                    self.stale_slots += 1  # bunched with later slots it could break the cap
                    continue
                group = [pending.popleft() for _ in range(min(grant.count, len(pending)))]
                if pending:
                    wanted = min(len(pending), max(1, room - len(group)))
                    grant_task = asyncio.create_task(self.bucket.acquire(wanted))
                ours = set(
                    await self.queue.mark_sending(
                        [r.delivery_id for r in group],
                        worker=self.worker,
                        now=self.clock(),
                        lease=self.config.lease,
                    )
                )
                ready = deque(r for r in group if r.delivery_id in ours)
                while ready:
                    # Judge the slot again: marking the group took a database round trip,
                    # and a slot that went stale meanwhile would bunch with the next ones.
                    if self.monotonic() - grant.due > self._tolerance(grant.count):
                        self.stale_slots += 1
                        grant = await self.bucket.acquire(len(ready))
                        continue
                    for _ in range(min(grant.count, len(ready))):
                        inflight.add(asyncio.create_task(self._send_one(ready.popleft(), versions)))
                    if ready:
                        grant = await self.bucket.acquire(len(ready))
                if not ours:  # paused or cancelled meanwhile (or the lease was lost)
                    pending.extend(group)
                    break
                await self._maybe_flush()
        finally:
            if grant_task is not None:
                grant_task.cancel()
        refused = self.refused
        if pending:  # stopping, paused or refused: give the rest back at once
            wait = timedelta(seconds=self.config.poll if refused else 0)
            await self.queue.release(
                [r.delivery_id for r in pending], worker=self.worker, next_at=self.clock() + wait
            )
        if inflight:
            await asyncio.wait(inflight)
        await self._flush()
        if refused:
            log.error("Telegram refuses the bot token: broadcasting paused until it is fixed")
            self.refused = False
            await self.sleep(self.config.poll)

    async def _versions_of(self, campaign: Campaign) -> dict[str, ContentItem]:
        versions = self._versions.get(campaign.id)
        if versions is None:
            versions = dict(await self.content.versions(campaign.group))
            if not versions:  # retired since the campaign started: the campaign's own item
                item = await self.content.get(campaign.item_id)
                versions = {item.language: item}
            self._versions[campaign.id] = versions
        return versions

    async def _send_one(self, r: Recipient, versions: dict[str, ContentItem]) -> None:
        item = pick_translation(versions, r.language)
        try:
            address = self.decrypt(r.channel, r.chat_cipher)
        except Exception:  # a changed key: the row can never be sent
            self._results.append(
                Resolution(r.delivery_id, DeliveryState.FAILED, "chat id cannot be decrypted")
            )
            return
        if item is None:
            self._results.append(Resolution(r.delivery_id, DeliveryState.FAILED, "no published version"))
            return
        try:
            result = await self.sender.send(address, item)
        except Exception as exc:  # a bug or an unexpected library error: don't resend blindly
            log.error("broadcast send raised %s", type(exc).__name__)
            result = SendResult(Outcome.UNCONFIRMED, error=f"error: {type(exc).__name__}")
        self._results.append(await self._resolution(r, item, result))

    async def _resolution(self, r: Recipient, item: ContentItem, result: SendResult) -> Resolution:
        now = self.clock()
        if result.outcome == Outcome.SENT:
            self._note_sent(r.subscriber_id)
            self.sent += 1
            return Resolution(r.delivery_id, DeliveryState.SENT, language=item.language)
        if result.outcome == Outcome.UNCONFIRMED:
            self._note_sent(r.subscriber_id)
            return Resolution(
                r.delivery_id,
                DeliveryState.SENT,
                f"unconfirmed: {result.error}"[:200],
                language=item.language,
            )
        if result.outcome == Outcome.BLOCKED:
            return Resolution(r.delivery_id, DeliveryState.BLOCKED, result.error[:200], chat_key=r.chat_key)
        if result.outcome == Outcome.REFUSED:
            self.refused = True
            when = now + timedelta(seconds=self.config.poll)
            return Resolution(
                r.delivery_id, DeliveryState.QUEUED, result.error[:200], next_at=when, refund_attempt=True
            )
        if result.outcome == Outcome.RETRY_AFTER:
            await self.bucket.pause(result.retry_after)
            when = now + timedelta(seconds=result.retry_after)
            return Resolution(r.delivery_id, DeliveryState.QUEUED, "429", next_at=when, refund_attempt=True)
        attempts = r.attempts + 1
        if result.outcome == Outcome.TRANSIENT and attempts < self.config.max_attempts:
            when = now + timedelta(seconds=backoff(attempts))
            return Resolution(r.delivery_id, DeliveryState.QUEUED, result.error[:200], next_at=when)
        return Resolution(r.delivery_id, DeliveryState.FAILED, result.error[:200] or "failed")

    def _tolerance(self, count: int) -> float:
        """How late a slot may be used: half its length, or 10 ms."""
        return max(0.5 * count / self.config.rate, 0.01)

    def _note_sent(self, subscriber_id: int) -> None:
        self._last_sent[subscriber_id] = self.monotonic()
        self._last_sent.move_to_end(subscriber_id)
        horizon = self.monotonic() - self.config.per_chat_interval
        while self._last_sent and next(iter(self._last_sent.values())) < horizon:
            self._last_sent.popitem(last=False)

    async def _maybe_flush(self) -> None:
        if len(self._results) >= self.config.flush_size or (
            self._results and self.monotonic() - self._flushed_at >= self.config.flush_every
        ):
            await self._flush()

    async def _flush(self) -> None:
        results, self._results = self._results, []
        self._flushed_at = self.monotonic()
        if results:
            await self.queue.resolve(results, now=self.clock())
