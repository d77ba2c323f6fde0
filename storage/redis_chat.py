"""Conversation state and the update ledger in Redis, so any worker can take a chat's next
update. During a Redis outage each worker falls back to its own memory: conversations go
on (on one worker), redeliveries to another worker may be handled twice, intake never stops."""

from __future__ import annotations

import json
import logging
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.chat.state import DEDUPE_TTL, IDLE_TTL, MemoryChatStateStore, MemoryUpdateLedger

log = logging.getLogger(__name__)

STATE_PREFIX = "hotline:chat:"
LEDGER_PREFIX = "hotline:update:"


class RedisChatStateStore:
    """One JSON value per chat key, with the idle expiry renewed on every save."""

    def __init__(self, redis: Redis, ttl: int = IDLE_TTL) -> None:
        self.redis = redis
        self.ttl = ttl
        self.fallback = MemoryChatStateStore(ttl)

    async def load(self, key: str) -> dict[str, Any] | None:
        try:
            raw = await self.redis.get(STATE_PREFIX + key)
        except (RedisError, OSError):
            log.warning("redis unreachable: conversation state from this worker's memory")
            return await self.fallback.load(key)
        if raw is None:
            return await self.fallback.load(key)
        value = json.loads(raw)
        return value if isinstance(value, dict) else None

    async def save(self, key: str, state: dict[str, Any]) -> None:
        try:
            await self.redis.set(STATE_PREFIX + key, json.dumps(state, ensure_ascii=False), ex=self.ttl)
        except (RedisError, OSError):
            log.warning("redis unreachable: conversation state kept in this worker's memory")
            await self.fallback.save(key, state)
            return
        await self.fallback.delete(key)  # Redis is the truth again

    async def delete(self, key: str) -> None:
        await self.fallback.delete(key)
        try:
            await self.redis.delete(STATE_PREFIX + key)
        except (RedisError, OSError):
            log.warning("redis unreachable: conversation state not deleted there (it expires within a day)")


class RedisUpdateLedger:
    """`SET NX EX`: the first worker to claim an update id handles it; the others skip it."""

    def __init__(self, redis: Redis, ttl: int = DEDUPE_TTL) -> None:
        self.redis = redis
        self.ttl = ttl
        self.fallback = MemoryUpdateLedger(ttl)

    async def first_time(self, channel: str, update_id: int | str) -> bool:
        try:
            name = f"{LEDGER_PREFIX}{channel}:{update_id}"
            claimed = await self.redis.set(name, b"1", nx=True, ex=self.ttl)
        except (RedisError, OSError):
            # Losing a report is worse than answering a redelivery on another worker twice.
            log.warning("redis unreachable: updates deduplicated per worker")
            return await self.fallback.first_time(channel, update_id)
        return bool(claimed)
