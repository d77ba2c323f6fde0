"""Rate limits: the same rules on in-process and Redis counters, and Redis outages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from core.ratelimits import AbusePolicy, Limit, MemoryRateLimiter, RateLimited, RateLimiter, Throttle
from hotline.settings import Settings
from storage.models import TipRow
from storage.redis_limits import FallbackRateLimiter, RedisRateLimiter
from tests.test_web_api import count_rows


class Tick:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


POLICY = AbusePolicy(
    submissions=Limit(3, 60),
    submissions_per_source=Limit(10, 60),
    urgent_over_limit_per_source=Limit(20, 60),
    failed_checks_per_receipt=Limit(2, 900),
    receipt_pace_seconds=60,
    failed_checks_global=Limit(5, 60),
    failed_checks_per_source=Limit(20, 60),
    answers=Limit(600, 60),
    answers_per_source=Limit(60, 60),
)


async def exercise(limiters: list[RateLimiter], tick: Tick) -> None:
    """The rules, spread over several limiters as over several workers sharing counters."""
    throttles = [Throttle(limiter, POLICY, tick) for limiter in limiters]
    for i in range(3):
        await throttles[i % len(throttles)].submission("tip")
    with pytest.raises(RateLimited) as caught:
        await throttles[-1].submission("tip")
    assert 0 < caught.value.retry_after <= 60
    await throttles[0].submission("question")  # forms have separate budgets

    await throttles[0].check_allowed("AAAA")
    await throttles[0].check_failed("AAAA")
    await throttles[-1].check_failed("AAAA")
    await throttles[0].check_allowed("AAAA")  # past its limit, one attempt a minute goes through
    with pytest.raises(RateLimited):
        await throttles[-1].check_allowed("AAAA")
    await throttles[-1].check_allowed("BBBB")
    for code in ("C1", "C2", "C3"):
        await throttles[0].check_failed(code)
    with pytest.raises(RateLimited):  # five failures in a minute, across receipts: everyone waits
        await throttles[-1].check_allowed("DDDD")

    tick.now += 60
    await throttles[0].submission("tip")  # a new window
    await throttles[0].check_allowed("DDDD")
    await throttles[0].check_allowed("AAAA")  # paced for the receipt's 15-minute window
    with pytest.raises(RateLimited):
        await throttles[0].check_allowed("AAAA")
    tick.now += 900
    await throttles[0].check_allowed("AAAA")
    await throttles[0].check_allowed("AAAA")


async def test_rules_on_in_process_counters() -> None:
    tick = Tick()
    await exercise([MemoryRateLimiter(tick)], tick)


async def test_memory_limiter_stays_bounded() -> None:
    tick = Tick()
    limiter = MemoryRateLimiter(tick, max_keys=100)
    for i in range(1000):
        await limiter.hit(f"k{i}", 60)
    assert len(limiter._counts) <= 100


async def test_rules_on_redis_shared_by_two_workers(redis_url: str) -> None:
    tick = Tick()
    a, b = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        await exercise([RedisRateLimiter(a, tick), RedisRateLimiter(b, tick)], tick)
        assert await a.ttl(next(iter(await a.keys("hotline:rl:*")))) > 0  # counters expire
    finally:
        await a.aclose()
        await b.aclose()


async def test_redis_down_falls_back_to_in_process_counters() -> None:
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    tick = Tick()
    fallback = FallbackRateLimiter(RedisRateLimiter(dead, tick), MemoryRateLimiter(tick), clock=tick)
    try:
        assert await fallback.hit("k", 60) == 1
        assert fallback.degraded
        assert await fallback.hit("k", 60) == 2
        assert await fallback.count("k", 60) == 2
    finally:
        await dead.aclose()


@pytest.fixture
def dead_redis_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})


async def test_intake_survives_a_redis_outage(
    dead_redis_settings: Settings, clock: Any, aiohttp_client: Any, services: Any
) -> None:
    from handlers.app import create_app

    client = await aiohttp_client(create_app(dead_redis_settings, clock=clock))
    resp = await client.post("/api/v1/tips", json={"text": "Redis is down but this tip is not lost"})
    assert resp.status == 201
    assert await count_rows(services, TipRow) == 1


async def test_app_limits_through_redis(
    settings: Settings, redis_url: str, clock: Any, aiohttp_client: Any, tmp_path: Path
) -> None:
    """Two app instances (two workers) against one Redis share the per-receipt budget."""
    from handlers.app import create_app

    shared = settings.model_copy(update={"redis_url": redis_url})
    one = await aiohttp_client(create_app(shared, clock=clock))
    two = await aiohttp_client(create_app(shared, clock=clock))
    receipt = await (await one.post("/api/v1/tips", json={"text": "a tip"})).json()
    wrong = {"receipt_code": receipt["receipt_code"], "passphrase": "khong dung"}
    statuses = [
        (await (one if i % 2 else two).post("/api/v1/tips/status", json=wrong)).status for i in range(8)
    ]
    limit = settings.failed_checks_per_receipt
    # Past the receipt's limit one attempt a minute still goes through (then 404 again).
    assert statuses[:limit] == [404] * limit and statuses[-1] == 429
    assert statuses.count(404) <= limit + 1
