"""Rate-limit counters in Redis, shared by every worker, with an in-process fallback."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.ratelimits import RateLimiter, window_start

log = logging.getLogger(__name__)

PREFIX = "hotline:rl:"


class RedisRateLimiter:
    """Fixed windows: one INCR and one EXPIRE per event, in one round trip."""

    def __init__(self, redis: Redis, clock: Callable[[], float]) -> None:
        self.redis = redis
        self._clock = clock

    def _key(self, key: str, window: int) -> str:
        return f"{PREFIX}{window}:{window_start(self._clock(), window)}:{key}"

    async def hit(self, key: str, window: int) -> int:
        name = self._key(key, window)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window * 2)
            count, _ = await pipe.execute()
        return int(count)

    async def count(self, key: str, window: int) -> int:
        value = await self.redis.get(self._key(key, window))
        return int(value or 0)


class FallbackRateLimiter:
    """Redis first; while it is unreachable, the in-process counters, so intake goes on.

    After a failure Redis is left alone for `retry_after` seconds, so that an outage costs
    one timeout now and then rather than one per request.
    """

    def __init__(
        self,
        primary: RateLimiter,
        fallback: RateLimiter,
        *,
        retry_after: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.retry_after = retry_after
        self._clock = clock
        self._down_until = 0.0

    @property
    def degraded(self) -> bool:
        return self._clock() < self._down_until

    async def hit(self, key: str, window: int) -> int:
        if not self.degraded:
            try:
                return await self.primary.hit(key, window)
            except (RedisError, OSError, TimeoutError):
                self._mark_down()
        return await self.fallback.hit(key, window)

    async def count(self, key: str, window: int) -> int:
        if not self.degraded:
            try:
                return await self.primary.count(key, window)
            except (RedisError, OSError, TimeoutError):
                self._mark_down()
        return await self.fallback.count(key, window)

    def _mark_down(self) -> None:
        # No key in the message: a key may name a receipt.
        log.warning("redis unreachable; rate limits are per process for %.0f s", self.retry_after)
        self._down_until = self._clock() + self.retry_after
