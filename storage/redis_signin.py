"""Locks of unknown sign-in names (core.signin_limits.LockBox) in Redis, shared by every
worker; in this worker's memory while Redis is unreachable. Keys are keyed hashes."""

from __future__ import annotations

import logging
from datetime import datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.signin_limits import MemoryLockBox

log = logging.getLogger(__name__)
PREFIX = "hotline:lock:"


class RedisLockBox:
    def __init__(self, redis: Redis, fallback: MemoryLockBox | None = None) -> None:
        self.redis = redis
        self.fallback = fallback or MemoryLockBox()

    async def lock(self, key: str, until: datetime) -> None:
        await self.fallback.lock(key, until)
        try:
            # The TTL only tidies up; the stored moment is what counts. A day covers any clock.
            await self.redis.set(PREFIX + key, until.isoformat(), ex=24 * 3600)
        except (RedisError, OSError, TimeoutError):
            log.warning("redis unreachable; sign-in locks are per process")

    async def locked_until(self, key: str) -> datetime | None:
        try:
            raw = await self.redis.get(PREFIX + key)
        except (RedisError, OSError, TimeoutError):
            return await self.fallback.locked_until(key)
        if raw is None:
            return None
        return datetime.fromisoformat(raw.decode() if isinstance(raw, bytes) else str(raw))
