"""A token bucket for the replies of one bot in this process (the broadcast worker uses
the bucket shared through Redis, storage/redis_bucket.py)."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up; `delay` takes one."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self.tokens, self.updated = burst, clock()
        self.paused_until = 0.0

    def delay(self) -> float:
        """Take a token now (possibly going into debt) and say how long to wait for it."""
        now = self._clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= 1
        wait = 0.0 if self.tokens >= 0 else -self.tokens / self.rate
        return max(wait, self.paused_until - now)

    def pause(self, seconds: float) -> None:
        """The platform said 429: nobody in this process sends for `seconds`."""
        self.paused_until = max(self.paused_until, self._clock() + seconds)
