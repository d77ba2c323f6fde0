"""`POST /api/v1/answers` under its own rate limit, at the HTTP boundary: a normal run of
questions passes, the next one past the limit gets the same 429 as the other public
endpoints, the budget is the answers form's own, and it is shared through Redis when
configured. Like every public limit it is keyed on the form, never on the asker."""

from __future__ import annotations

import re
from typing import Any

import pytest
from redis.asyncio import Redis

from core.ratelimits import AbusePolicy, Limit, MemoryRateLimiter, RateLimited, Throttle
from handlers.public_api import api
from hotline.bootstrap import abuse_policy
from hotline.settings import Settings, SettingsError, load_settings
from storage.redis_limits import RedisRateLimiter
from tests.conftest import FakeClock
from tests.test_web_api import app_services

QUESTION = {"text": "xet nghiem hiv o dau mien phi"}
LIMIT = 5


async def make_client(settings: Settings, clock: FakeClock, aiohttp_client: Any, **update: Any) -> Any:
    from handlers.app import create_app

    return await aiohttp_client(create_app(settings.model_copy(update=update), clock=clock))


def assert_rate_limited(status: int, headers: Any, body: dict[str, Any]) -> None:
    """The shape every public endpoint answers past a limit (handlers/errors.py)."""
    assert status == 429
    assert body["error"]["code"] == "rate_limited" and body["error"]["message"]
    retry_after = body["error"]["retry_after"]
    assert isinstance(retry_after, int) and 1 <= retry_after <= 60
    assert headers["Retry-After"] == str(retry_after)
    assert headers["Cache-Control"] == "no-store"


async def test_a_normal_run_of_questions_passes_with_the_defaults(client: Any) -> None:
    """Someone retyping their question a few dozen times is never refused."""
    assert app_services(client).settings.answers_per_minute >= 60
    for _ in range(40):
        resp = await client.post("/api/v1/answers", json=QUESTION)
        assert resp.status == 200
        assert (await resp.json())["answers"][0]["entry_id"] == "hiv-test-where"


async def test_answers_past_the_limit_get_429_with_retry_after(
    settings: Settings, clock: FakeClock, aiohttp_client: Any
) -> None:
    client = await make_client(settings, clock, aiohttp_client, answers_per_minute=LIMIT)
    for _ in range(LIMIT):
        assert (await client.post("/api/v1/answers", json=QUESTION)).status == 200
    resp = await client.post("/api/v1/answers", json=QUESTION)
    assert_rate_limited(resp.status, resp.headers, await resp.json())
    # Another form keeps its own budget, and answering used none of it.
    assert (await client.post("/api/v1/questions", json=QUESTION)).status == 201


async def test_only_questions_that_are_looked_up_count(
    settings: Settings, clock: FakeClock, aiohttp_client: Any
) -> None:
    """A refused body (422) or a blank question is answered without a look-up, so it
    spends nothing; nor does a flood on another form."""
    client = await make_client(settings, clock, aiohttp_client, answers_per_minute=LIMIT)
    limiter = app_services(client).limiter
    for _ in range(settings.submissions_per_minute):
        await limiter.hit("form:tip", 60)
    assert (await client.post("/api/v1/tips", json={"text": "one too many"})).status == 429
    for _ in range(LIMIT + 2):
        assert (await client.post("/api/v1/answers", json={"text": "x", "limit": 9})).status == 422
        blank = await client.post("/api/v1/answers", json={"text": "   "})
        assert blank.status == 200 and await blank.json() == {"answers": []}
    assert await limiter.count("form:answers", 60) == 0
    for _ in range(LIMIT):
        assert (await client.post("/api/v1/answers", json=QUESTION)).status == 200
    assert (await client.post("/api/v1/answers", json=QUESTION)).status == 429


async def test_two_workers_share_the_budget_through_redis(
    settings: Settings, redis_url: str, clock: FakeClock, aiohttp_client: Any
) -> None:
    """Two app instances on one Redis count together, under a key naming the form only."""
    one = await make_client(settings, clock, aiohttp_client, redis_url=redis_url, answers_per_minute=LIMIT)
    two = await make_client(settings, clock, aiohttp_client, redis_url=redis_url, answers_per_minute=LIMIT)
    statuses = [
        (await (one if i % 2 else two).post("/api/v1/answers", json=QUESTION)).status
        for i in range(LIMIT + 2)
    ]
    assert statuses == [200] * LIMIT + [429, 429]
    redis = Redis.from_url(redis_url)
    try:
        keys = [k.decode() if isinstance(k, bytes) else k for k in await redis.keys("*")]
    finally:
        await redis.aclose()
    counters = [k for k in keys if k.startswith("hotline:rl:")]
    assert counters and all(k.startswith("hotline:rl:60:") for k in counters), keys
    # The form's ceiling, and the share of one source: a keyed hash, never the address.
    assert {re.sub(r"src:[0-9a-f]{24}$", "src:H", k.split(":", 4)[4]) for k in counters} == {
        "form:answers",
        "form:answers:src:H",
    }
    assert not any("127.0.0.1" in k or "::1" in k for k in keys)


async def test_without_redis_each_worker_counts_in_process(
    settings: Settings, clock: FakeClock, aiohttp_client: Any
) -> None:
    one = await make_client(settings, clock, aiohttp_client, answers_per_minute=LIMIT)
    two = await make_client(settings, clock, aiohttp_client, answers_per_minute=LIMIT)
    assert isinstance(app_services(one).limiter, MemoryRateLimiter)
    for _ in range(LIMIT):
        assert (await one.post("/api/v1/answers", json=QUESTION)).status == 200
    assert (await one.post("/api/v1/answers", json=QUESTION)).status == 429
    assert (await two.post("/api/v1/answers", json=QUESTION)).status == 200


# ---- the rule itself, on both kinds of counters, with a hand-moved clock -----------------


class Tick:
    def __init__(self) -> None:
        self.now = 1_000_040.0  # 20 s into a window, 40 s before its end

    def __call__(self) -> float:
        return self.now


POLICY = AbusePolicy(
    submissions=Limit(2, 60),
    submissions_per_source=Limit(10, 60),
    urgent_over_limit_per_source=Limit(20, 60),
    failed_checks_per_receipt=Limit(5, 900),
    receipt_pace_seconds=60,
    failed_checks_global=Limit(300, 60),
    failed_checks_per_source=Limit(20, 60),
    answers=Limit(3, 60),
    answers_per_source=Limit(60, 60),
)


async def exercise(throttles: list[Throttle], tick: Tick) -> None:
    for i in range(3):
        await throttles[i % len(throttles)].answers()
    with pytest.raises(RateLimited) as caught:
        await throttles[-1].answers()
    assert caught.value.retry_after == 40
    await throttles[0].submission("question")  # the forms' budgets are apart
    tick.now += 40
    await throttles[-1].answers()  # a new window


async def test_rule_on_in_process_counters() -> None:
    tick = Tick()
    limiter = MemoryRateLimiter(tick)
    await exercise([Throttle(limiter, POLICY, tick)], tick)


async def test_rule_on_redis_counters_shared_by_two_workers(redis_url: str) -> None:
    tick = Tick()
    a, b = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        await exercise(
            [
                Throttle(RedisRateLimiter(a, tick), POLICY, tick),
                Throttle(RedisRateLimiter(b, tick), POLICY, tick),
            ],
            tick,
        )
    finally:
        await a.aclose()
        await b.aclose()


# ---- setting and document -------------------------------------------------------------


def test_the_setting_feeds_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_ANSWERS_PER_MINUTE", "90")
    assert abuse_policy(load_settings()).answers == Limit(90, 60)
    monkeypatch.setenv("HOTLINE_ANSWERS_PER_MINUTE", "0")
    with pytest.raises(SettingsError, match="HOTLINE_ANSWERS_PER_MINUTE"):
        load_settings()


def test_openapi_declares_the_429() -> None:
    responses = api.document()["paths"]["/api/v1/answers"]["post"]["responses"]
    assert responses["429"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
