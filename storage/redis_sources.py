"""The source-hash key of each rotation period (core.sources) in Redis, so every worker
counts a client under the same source. It expires after two periods; while Redis is
unreachable a worker uses a key of its own (its counters are its own then anyway)."""

from __future__ import annotations

import logging
import secrets

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.sources import KEY_BYTES, MemorySourceKeys

log = logging.getLogger(__name__)
PREFIX = "hotline:srckey:"


class RedisSourceKeys:
    def __init__(
        self, redis: Redis, *, rotate_seconds: int, fallback: MemorySourceKeys | None = None
    ) -> None:
        self.redis = redis
        self._ttl = 2 * rotate_seconds
        self.fallback = fallback or MemorySourceKeys()
        self._known: dict[int, bytes] = {}

    async def key(self, period: int) -> bytes:
        known = self._known.get(period)
        if known is not None:
            return known
        name = f"{PREFIX}{period}"
        try:
            # The first worker to ask draws the key; the others read it.
            await self.redis.set(name, secrets.token_bytes(KEY_BYTES), nx=True, ex=self._ttl)
            raw = await self.redis.get(name)
        except (RedisError, OSError, TimeoutError):
            log.warning("redis unreachable; client sources are hashed with this worker's key")
            return await self.fallback.key(period)
        if not isinstance(raw, bytes) or len(raw) != KEY_BYTES:
            return await self.fallback.key(period)
        self._known = {p: k for p, k in self._known.items() if p >= period - 1}
        self._known[period] = raw
        return raw
