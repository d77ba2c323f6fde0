"""Sign-in abuse control across accounts, on the shared rate-limit counters.

The per-account lockout (`core.staff`, rows of `officers`) stops guessing one account's
password; it does not stop trying one password on many accounts, and on its own it told
an attacker which usernames exist (a known name got locked, an unknown one never did).
So, besides it:

* a **global failure budget**: once `failures_global.max_events` sign-ins failed within
  the window (all accounts and names together), every sign-in is refused with the same
  "locked" answer until the window ends. Sessions already open are not affected.
* **unknown usernames lock like known ones**: their failures are counted under a keyed
  hash of the name (never the name: it is sometimes a password typed in the wrong box),
  and after `max_failures` they get the same 429 an account does.

* a **per-source budget** below the global one (`core.sources`: a keyed hash of the
  client's address, never stored): one client over it waits, and its refused attempts do
  not count against the global budget, so it cannot lock every officer out.
* a **locked account stays open to a source that has not failed on it**: whoever locked
  it (five wrong passwords from one place) waits; the officer, signing in from elsewhere,
  does not. Each source gets `max_failures` attempts on a locked account per lockout.

The counters live in Redis when configured (else in the worker) and expire on their own.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from core.ratelimits import Limit, RateLimiter, window_start


class LockBox(Protocol):
    """Marks that expire: a name locked until a moment (Redis, or this worker's memory)."""

    async def lock(self, key: str, until: datetime) -> None: ...

    async def locked_until(self, key: str) -> datetime | None: ...


class MemoryLockBox:
    def __init__(self, max_keys: int = 100_000) -> None:
        self._until: dict[str, datetime] = {}
        self._max_keys = max_keys

    async def lock(self, key: str, until: datetime) -> None:
        if len(self._until) >= self._max_keys:
            self._until.clear()  # a flood of names: forget rather than grow
        self._until[key] = until

    async def locked_until(self, key: str) -> datetime | None:
        return self._until.get(key)


@dataclass(frozen=True)
class SignInLimits:
    """The numbers come from `hotline.settings`, built only by `hotline.bootstrap.sign_in_limits`."""

    failures_global: Limit
    failures_per_source: Limit
    #: Failures of one unknown name before it "locks", as an account does after that many
    #: in a row (the day-long window stands for "in a row": only the password resets it).
    max_failures: int
    lockout: timedelta


NAME_WINDOW = 24 * 3600


class SignInThrottle:
    def __init__(
        self,
        limiter: RateLimiter,
        limits: SignInLimits,
        key: bytes,
        locks: LockBox | None,
        clock: Callable[[], float],
    ) -> None:
        self.limiter = limiter
        self.limits = limits
        self.locks = locks or MemoryLockBox()
        self._key = hmac.digest(key, b"hotline sign-in names v1", hashlib.sha256)
        self._clock = clock

    def _name_key(self, username: str) -> str:
        digest = hmac.digest(self._key, username.strip().casefold().encode(), hashlib.sha256)
        return "signin:name:" + digest[:16].hex()

    async def budget_spent(self, source: str | None = None) -> int | None:
        """Seconds to wait while this source's or the global failure budget is spent, else None."""
        budgets = [("signin:global", self.limits.failures_global)]
        if source is not None:
            budgets.insert(0, (f"signin:src:{source}", self.limits.failures_per_source))
        for key, limit in budgets:
            if await self.limiter.count(key, limit.window) >= limit.max_events:
                now = self._clock()
                return max(1, int(window_start(now, limit.window) + limit.window - now))
        return None

    def _account_key(self, account_id: int, source: str) -> str:
        return f"signin:acct:{account_id}:src:{source}"

    async def lock_spares(self, account_id: int, source: str | None) -> bool:
        """Whether a locked account may still be tried from `source`: one that has failed
        on it fewer than `max_failures` times within the lockout (never an unknown source)."""
        if source is None:
            return False
        window = int(self.limits.lockout.total_seconds())
        return (
            await self.limiter.count(self._account_key(account_id, source), window) < self.limits.max_failures
        )

    async def unknown_name_locked(self, username: str, now: datetime) -> int | None:
        """Seconds to wait when this unknown name is "locked", counted as an account's
        lock is (from the failure that locked it), else None."""
        until = await self.locks.locked_until(self._name_key(username))
        if until is None or now >= until:
            return None
        return max(1, math.ceil((until - now).total_seconds()))

    async def failed(
        self,
        username: str | None = None,
        now: datetime | None = None,
        *,
        source: str | None = None,
        account_id: int | None = None,
    ) -> None:
        """Count a failure against the budgets, against `username` when it is unknown, and
        against the account from this source when it is known."""
        await self.limiter.hit("signin:global", self.limits.failures_global.window)
        if source is not None:
            await self.limiter.hit(f"signin:src:{source}", self.limits.failures_per_source.window)
            if account_id is not None:
                await self.limiter.hit(
                    self._account_key(account_id, source), int(self.limits.lockout.total_seconds())
                )
        if username is None or now is None:
            return
        key = self._name_key(username)
        if await self.limiter.hit(key, NAME_WINDOW) >= self.limits.max_failures:
            await self.locks.lock(key, now + self.limits.lockout)
