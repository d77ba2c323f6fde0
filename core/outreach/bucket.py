"""The global send rate: a token bucket shaped (r = 0.98 x cap, groups of ~1% of the cap) so no
one-second window ever holds more than the cap, plus the in-process implementation; the Redis
one (storage/redis_bucket.py) runs the same arithmetic in Lua for every worker."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

HEADROOM = 0.98
BURST_SHARE = 0.01
#: How far ahead a slot may be reserved.
HORIZON = 0.1


@dataclass(frozen=True)
class BucketShape:
    rate: float
    burst: int


def shape_for(cap: float) -> BucketShape:
    """Refill rate and burst that keep every one-second window at or under `cap`."""
    return BucketShape(rate=cap * HEADROOM, burst=max(1, math.floor(cap * BURST_SHARE)))


@dataclass(frozen=True)
class Grant:
    """`count` messages may be sent at `due` (this process's monotonic clock)."""

    count: int
    due: float


class MemoryBucket:
    """One process's bucket (no Redis, or Redis is down).

    Slots are reserved, not just taken: `theoretical` is the time of the next free slot
    (GCRA), and a caller may reserve up to `HORIZON` seconds ahead and sleep until its slot.
    A worker that reserves its next slot while it handles the current one therefore loses
    no time to its own latency, which a plain bucket capped at a burst of 1 would.
    """

    def __init__(
        self,
        shape: BucketShape,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.shape = shape
        self._monotonic = monotonic
        self._sleep = sleep
        self.theoretical = 0.0
        self.paused_until = 0.0

    def reserve(self, wanted: int) -> tuple[int, float]:
        """(count, seconds until the slot), or (0, seconds to wait before asking again)."""
        now = self._monotonic()
        start = max(self.theoretical, now, self.paused_until)
        if start - now > HORIZON + 1e-6:  # the margin keeps float error from spinning
            return 0, start - now - HORIZON
        count = max(1, min(wanted, self.shape.burst))
        self.theoretical = start + count / self.shape.rate
        return count, start - now

    async def acquire(self, wanted: int = 1) -> Grant:
        while True:
            count, wait = self.reserve(wanted)
            if count:
                due = self._monotonic() + wait
                if wait > 0:
                    await self._sleep(wait)
                return Grant(count, due)
            await self._sleep(wait)

    async def pause(self, seconds: float) -> None:
        now = self._monotonic()
        self.paused_until = max(self.paused_until, now + seconds)
        self.theoretical = max(self.theoretical, self.paused_until)
