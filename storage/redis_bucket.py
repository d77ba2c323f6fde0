"""The broadcast token bucket in Redis, shared by every worker of one bot.

One Lua script does refill, take and pause atomically on the Redis server, with the
server's clock (`TIME`), so workers on machines whose clocks disagree still share one
rate. A 429 from Telegram pauses the bucket for everybody. If Redis stops answering, the
worker carries on with an in-process bucket at a conservative share of the cap (it cannot
know how many other workers are sending) and tries Redis again every few seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.outreach.bucket import HORIZON, BucketShape, Grant, MemoryBucket

log = logging.getLogger(__name__)

PREFIX = "hotline:broadcast:bucket:"
#: Without Redis a worker assumes it is one of up to this many and takes that share.
FALLBACK_SHARE = 0.25

# KEYS[1] the bucket; ARGV rate, largest group, wanted, pause seconds (0: reserve), horizon.
# Returns {messages reserved, microseconds until the slot (or until asking again)}.
SCRIPT = """
local rate = tonumber(ARGV[1])
local group = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local pause = tonumber(ARGV[4])
local horizon = tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local st = redis.call('HMGET', KEYS[1], 'tat', 'paused')
local tat = tonumber(st[1]) or 0
local paused = tonumber(st[2]) or 0
if pause > 0 then
  paused = math.max(paused, now + pause)
  tat = math.max(tat, paused)
  redis.call('HSET', KEYS[1], 'tat', tostring(tat), 'paused', tostring(paused))
  redis.call('PEXPIRE', KEYS[1], math.ceil((paused - now + 60) * 1000))
  return {0, 0}
end
local start = math.max(tat, now, paused)
if start - now > horizon + 0.000001 then
  return {0, math.ceil((start - now - horizon) * 1000000)}
end
local n = math.max(1, math.min(wanted, group))
redis.call('HSET', KEYS[1], 'tat', tostring(start + n / rate), 'paused', tostring(paused))
redis.call('PEXPIRE', KEYS[1], 60000)
return {n, math.floor((start - now) * 1000000)}
"""


class RedisBucket:
    """`core.outreach.ports.Bucket` over Redis, falling back to a slower local bucket."""

    def __init__(
        self,
        redis: Redis,
        shape: BucketShape,
        *,
        name: str,
        retry_after: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.redis = redis
        self.shape = shape
        self.key = f"{PREFIX}{name}"
        self._script = redis.register_script(SCRIPT)
        fallback_rate = max(shape.rate * FALLBACK_SHARE, min(shape.rate, 1.0))
        self.fallback = MemoryBucket(BucketShape(fallback_rate, 1), monotonic=monotonic, sleep=sleep)
        self.retry_after = retry_after
        self._monotonic = monotonic
        self._sleep = sleep
        self._down_until = 0.0
        self.fallbacks = 0  # how often Redis failed; read by tests

    async def _call(self, wanted: int, pause: float) -> tuple[int, float] | None:
        if self._monotonic() < self._down_until:
            return None
        try:
            count, wait_us = await self._script(
                keys=[self.key], args=[self.shape.rate, self.shape.burst, wanted, pause, HORIZON]
            )
        except (TimeoutError, RedisError, OSError) as exc:
            self.fallbacks += 1
            self._down_until = self._monotonic() + self.retry_after
            log.warning("Redis bucket unavailable (%s): sending at a local, slower rate", type(exc).__name__)
            return None
        return int(count), int(wait_us) / 1_000_000

    async def acquire(self, wanted: int = 1) -> Grant:
        while True:
            answer = await self._call(max(1, wanted), 0.0)
            if answer is None:
                return await self.fallback.acquire(wanted)
            count, wait = answer
            if count:
                due = self._monotonic() + wait
                if wait > 0:
                    await self._sleep(wait)
                return Grant(count, due)
            await self._sleep(wait)

    async def pause(self, seconds: float) -> None:
        await self.fallback.pause(seconds)
        await self._call(1, max(seconds, 0.001))
