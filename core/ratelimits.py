"""Abuse control as rules over counters: what is limited, how much, and per what window.

The counters live behind `RateLimiter` (in-process, or Redis so that every worker shares
them). Each limit is counted per *source* (`core.sources`: a keyed hash of the client's
address under a key that rotates daily, never stored with the data) and under a global
ceiling well above one source's share, so that one client cannot spend everybody's budget:
a source over its share is refused before it counts against the ceiling. An urgent tip is
accepted over the limits (within a separate allowance per source) and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from core.errors import DomainError


class RateLimited(DomainError):
    """Too many attempts in the current window; the caller should wait and retry."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimiter(Protocol):
    """Fixed-window counters. `window` is in seconds; keys are opaque strings."""

    async def hit(self, key: str, window: int) -> int:
        """Count one event now and return the number of events in the current window."""
        ...

    async def count(self, key: str, window: int) -> int:
        """Events so far in the current window, without counting one."""
        ...


@dataclass(frozen=True)
class Limit:
    """At most `max_events` per `window` seconds."""

    max_events: int
    window: int


@dataclass(frozen=True)
class AbusePolicy:
    """The abuse limits; the numbers (and why) are in `hotline.settings`, built into a
    policy only by `hotline.bootstrap.abuse_policy`."""

    submissions: Limit  # per form (tip, question, message), all sources together
    submissions_per_source: Limit  # per form, one source
    urgent_over_limit_per_source: Limit  # urgent tips one source may file past its limit
    failed_checks_per_receipt: Limit
    receipt_pace_seconds: int  # past the per-receipt limit, one attempt per this many seconds
    failed_checks_global: Limit
    failed_checks_per_source: Limit
    answers: Limit  # knowledge-base look-ups, all askers together
    answers_per_source: Limit


def window_start(now: float, window: int) -> int:
    return int(now // window) * window


class MemoryRateLimiter:
    """Counters in this process: right for one worker, and the fallback when Redis is down."""

    def __init__(self, clock: Callable[[], float], max_keys: int = 100_000) -> None:
        self._clock = clock
        self._counts: dict[tuple[str, int, int], int] = {}
        self._max_keys = max_keys

    async def hit(self, key: str, window: int) -> int:
        slot = (key, window, window_start(self._clock(), window))
        if slot not in self._counts and len(self._counts) >= self._max_keys:
            self._forget_old()
        self._counts[slot] = self._counts.get(slot, 0) + 1
        return self._counts[slot]

    async def count(self, key: str, window: int) -> int:
        return self._counts.get((key, window, window_start(self._clock(), window)), 0)

    def _forget_old(self) -> None:
        now = self._clock()
        self._counts = {k: v for k, v in self._counts.items() if k[2] + k[1] > now}
        if len(self._counts) >= self._max_keys:  # a flood of fresh keys: drop the oldest half
            for k in sorted(self._counts, key=lambda k: k[2])[: self._max_keys // 2]:
                del self._counts[k]


class Throttle:
    """The abuse rules, applied to one limiter."""

    def __init__(self, limiter: RateLimiter, policy: AbusePolicy, clock: Callable[[], float]):
        self.limiter = limiter
        self.policy = policy
        self._clock = clock

    def _retry_after(self, limit: Limit) -> int:
        now = self._clock()
        return max(1, int(window_start(now, limit.window) + limit.window - now))

    async def submission(self, form: str, source: str | None = None, *, urgent: bool = False) -> bool:
        """Count a submission on `form` from `source` (None: a channel without addresses,
        counted under the ceiling only); refuse it past the limits, unless it is urgent.
        True when an urgent submission was accepted over a limit."""
        return await self._count_form(
            form,
            source,
            self.policy.submissions,
            self.policy.submissions_per_source,
            "too many submissions right now",
            urgent=urgent,
        )

    async def answers(self, source: str | None = None) -> None:
        """Count a knowledge-base look-up on the answers form; refuse it past the limit."""
        await self._count_form(
            "answers",
            source,
            self.policy.answers,
            self.policy.answers_per_source,
            "too many questions right now",
        )

    async def _count_form(
        self,
        form: str,
        source: str | None,
        ceiling: Limit,
        share: Limit,
        refusal: str,
        *,
        urgent: bool = False,
    ) -> bool:
        if (
            source is not None
            and await self.limiter.hit(f"form:{form}:src:{source}", share.window) > share.max_events
        ):
            if urgent and await self._urgent_allowed(form, source):
                return True
            raise RateLimited(f"{refusal}; please retry shortly", self._retry_after(share))
        if await self.limiter.hit(f"form:{form}", ceiling.window) > ceiling.max_events:
            if urgent and await self._urgent_allowed(form, source):
                return True
            raise RateLimited(f"{refusal}; please retry shortly", self._retry_after(ceiling))
        return False

    async def _urgent_allowed(self, form: str, source: str | None) -> bool:
        """Someone may be in danger: past the limits, an urgent tip still goes through,
        up to a separate allowance per source (so ticking the box is no way to flood)."""
        if source is None:
            return True
        allowance = self.policy.urgent_over_limit_per_source
        return await self.limiter.hit(f"urgent:{form}:src:{source}", allowance.window) <= allowance.max_events

    async def check_allowed(self, receipt_key: str, source: str | None = None) -> None:
        """Refuse a receipt check while this source, or everyone, failed too often; past
        the receipt's own limit, let one attempt through per `receipt_pace_seconds`."""
        for key, limit in self._check_limits(source):
            if await self.limiter.count(key, limit.window) >= limit.max_events:
                raise RateLimited("too many failed attempts; please wait and retry", self._retry_after(limit))
        per_receipt = self.policy.failed_checks_per_receipt
        if (
            await self.limiter.count(f"fail:receipt:{receipt_key}", per_receipt.window)
            >= per_receipt.max_events
        ):
            pace = Limit(1, self.policy.receipt_pace_seconds)
            if await self.limiter.hit(f"pace:receipt:{receipt_key}", pace.window) > pace.max_events:
                raise RateLimited("too many failed attempts; please wait and retry", self._retry_after(pace))

    async def check_failed(self, receipt_key: str, source: str | None = None) -> None:
        await self.limiter.hit(f"fail:receipt:{receipt_key}", self.policy.failed_checks_per_receipt.window)
        for key, limit in self._check_limits(source):
            await self.limiter.hit(key, limit.window)

    def _check_limits(self, source: str | None) -> list[tuple[str, Limit]]:
        limits = [("fail:global", self.policy.failed_checks_global)]
        if source is not None:
            limits.insert(0, (f"fail:src:{source}", self.policy.failed_checks_per_source))
        return limits
