"""Abuse control as rules over counters: what is limited, how much, and per what window.

The counters live behind `RateLimiter` (in-process, or Redis so that every worker shares
them). Keys name a form or a receipt, never a person: we keep no address to key on.
"""

from __future__ import annotations

import time
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
    """Shipped defaults; `hotline.settings` lets operators change each of them."""

    submissions: Limit = Limit(120, 60)  # per form (tip, question, message), all reporters together
    failed_checks_per_receipt: Limit = Limit(5, 900)
    failed_checks_global: Limit = Limit(300, 60)
    # Knowledge-base look-ups (POST /api/v1/answers), all askers together: nothing is stored
    # and a look-up is cheap, so the budget is wider than a form's, but the matching is CPU.
    answers: Limit = Limit(240, 60)


def window_start(now: float, window: int) -> int:
    return int(now // window) * window


class MemoryRateLimiter:
    """Counters in this process: right for one worker, and the fallback when Redis is down."""

    def __init__(self, clock: Callable[[], float] = time.time, max_keys: int = 100_000) -> None:
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

    def __init__(self, limiter: RateLimiter, policy: AbusePolicy, clock: Callable[[], float] = time.time):
        self.limiter = limiter
        self.policy = policy
        self._clock = clock

    def _retry_after(self, limit: Limit) -> int:
        now = self._clock()
        return max(1, int(window_start(now, limit.window) + limit.window - now))

    async def submission(self, form: str) -> None:
        """Count a submission on `form`; refuse it past the limit."""
        await self._count_form(form, self.policy.submissions, "too many submissions right now")

    async def answers(self) -> None:
        """Count a knowledge-base look-up on the answers form; refuse it past the limit."""
        await self._count_form("answers", self.policy.answers, "too many questions right now")

    async def _count_form(self, form: str, limit: Limit, refusal: str) -> None:
        if await self.limiter.hit(f"form:{form}", limit.window) > limit.max_events:
            raise RateLimited(f"{refusal}; please retry shortly", self._retry_after(limit))

    async def check_allowed(self, receipt_key: str) -> None:
        """Refuse a receipt check while this receipt, or everyone, failed too often."""
        for key, limit in self._check_limits(receipt_key):
            if await self.limiter.count(key, limit.window) >= limit.max_events:
                raise RateLimited("too many failed attempts; please wait and retry", self._retry_after(limit))

    async def check_failed(self, receipt_key: str) -> None:
        for key, limit in self._check_limits(receipt_key):
            await self.limiter.hit(key, limit.window)

    def _check_limits(self, receipt_key: str) -> list[tuple[str, Limit]]:
        return [
            (f"fail:receipt:{receipt_key}", self.policy.failed_checks_per_receipt),
            ("fail:global", self.policy.failed_checks_global),
        ]
