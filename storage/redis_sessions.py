"""Staff sessions in Redis, written through to the database.

Redis never holds the only copy (the database is the source of truth):

* **sign-in** writes the row to `staff_sessions` (in the unit of work's transaction) and
  caches it in Redis;
* **each request** reads the session from Redis and moves its `last_seen_at` there only,
  so a busy officer costs no database write per click;
* at most every `revalidate` seconds (and on a Redis miss) a request goes back to the
  database: the row must still exist (else the session ended: logged out elsewhere,
  `reset-totp`, swept), and the row's `last_seen_at` catches up with Redis;
* **sign-out / logout everywhere** delete the rows, then the Redis keys.

So a Redis restart or flush loses nothing: the next request finds the row and re-caches
it (its idle clock is at most `revalidate` seconds early, which errs on the safe side).
While Redis is unreachable every operation goes to the database alone, after one short
timeout per `retry_after` seconds. A session deleted while Redis was down may linger in a
surviving Redis copy for at most `revalidate` seconds before the database check refuses it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.ports import SessionRepository
from core.sessions import SessionPolicy, StaffSession
from storage.repositories import SqlSessionRepository

log = logging.getLogger(__name__)

PREFIX = "hotline:sess:"
REDIS_ERRORS = (RedisError, OSError, TimeoutError)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


class RedisSessionCache:
    """Redis in front of `staff_sessions`: `over(uow.sessions)` gives the
    `core.ports.SessionRepository` a unit of work uses, writing through its transaction."""

    def __init__(
        self,
        redis: Redis,
        *,
        policy: SessionPolicy,
        clock: Callable[[], datetime],
        revalidate: timedelta = timedelta(seconds=60),
        retry_after: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis
        self.policy = policy
        self.clock = clock
        self.revalidate = revalidate
        self.retry_after = retry_after
        self._monotonic = monotonic
        self._down_until = 0.0

    def over(self, db: SessionRepository) -> SessionRepository:
        return RedisBackedSessions(self, db)

    @property
    def degraded(self) -> bool:
        return self._monotonic() < self._down_until

    def _mark_down(self) -> None:
        log.warning("redis unreachable; staff sessions served from the database for %.0f s", self.retry_after)
        self._down_until = self._monotonic() + self.retry_after

    def _ttl(self, session: StaffSession) -> int:
        """Gone from Redis once idle too long or past the absolute limit, whichever first."""
        idle_end = session.last_seen_at + self.policy.idle
        hard_end = session.created_at + self.policy.absolute
        return max(1, int((min(idle_end, hard_end) - self.clock()).total_seconds()) + 1)

    async def put(self, session: StaffSession, checked_at: datetime) -> None:
        if self.degraded:
            return
        value = {
            "officer_id": session.officer_id,
            "csrf_token": session.csrf_token,
            "created_at": _iso(session.created_at),
            "last_seen_at": _iso(session.last_seen_at),
            "checked_at": _iso(checked_at),
        }
        try:
            await self.redis.set(PREFIX + session.token_hash, json.dumps(value), ex=self._ttl(session))
        except REDIS_ERRORS:
            self._mark_down()

    async def fetch(self, token_hash: str) -> dict[str, Any] | None:
        if self.degraded:
            return None
        try:
            raw = await self.redis.get(PREFIX + token_hash)
        except REDIS_ERRORS:
            self._mark_down()
            return None
        if raw is None:
            return None
        value: dict[str, Any] = json.loads(raw)
        return value

    async def forget(self, *token_hashes: str) -> None:
        if self.degraded or not token_hashes:
            return
        try:
            await self.redis.delete(*(PREFIX + h for h in token_hashes))
        except REDIS_ERRORS:
            self._mark_down()


def _session(token_hash: str, cached: dict[str, Any], last_seen: datetime | None = None) -> StaffSession:
    return StaffSession(
        token_hash,
        int(cached["officer_id"]),
        str(cached["csrf_token"]),
        _at(cached["created_at"]),
        last_seen or _at(cached["last_seen_at"]),
    )


class RedisBackedSessions:
    """One unit of work's view: the database repository `db`, with Redis in front."""

    def __init__(self, cache: RedisSessionCache, db: SessionRepository) -> None:
        self.cache = cache
        self.db = db

    async def add(self, session: StaffSession) -> None:
        await self.db.add(session)
        await self.cache.put(session, checked_at=self.cache.clock())

    async def get(self, token_hash: str) -> StaffSession | None:
        now = self.cache.clock()
        cached = await self.cache.fetch(token_hash)
        if cached is not None and now - _at(cached["checked_at"]) < self.cache.revalidate:
            return _session(token_hash, cached)
        stored = await self.db.get(token_hash)
        if stored is None:  # ended elsewhere (logout everywhere, reset-totp, swept)
            await self.cache.forget(token_hash)
            return None
        if cached is not None and _at(cached["last_seen_at"]) > stored.last_seen_at:
            # The database catches up with the requests only Redis has seen.
            seen = _at(cached["last_seen_at"])
            await self.db.touch(token_hash, seen)
            stored = _session(token_hash, cached, seen)
        await self.cache.put(stored, checked_at=now)
        return stored

    async def touch(self, token_hash: str, at: datetime) -> None:
        cached = await self.cache.fetch(token_hash)
        if cached is None:  # Redis down or just flushed: the database keeps the time
            await self.db.touch(token_hash, at)
            return
        await self.cache.put(_session(token_hash, cached, at), checked_at=_at(cached["checked_at"]))

    async def delete(self, token_hash: str) -> None:
        await self.db.delete(token_hash)
        await self.cache.forget(token_hash)

    async def delete_for(self, officer_id: int) -> int:
        hashes = await self.db.hashes_for(officer_id) if isinstance(self.db, SqlSessionRepository) else []
        count = await self.db.delete_for(officer_id)
        await self.cache.forget(*hashes)
        return count

    async def purge(self, *, idle_since: datetime, created_before: datetime) -> int:
        """Rows only: Redis keys expire on their own (their TTL is the session's end)."""
        return await self.db.purge(idle_since=idle_since, created_before=created_before)
