"""Several workers, crashes and redeliveries: a confirmed report is never lost, never
doubled, and an error is logged without anything that identifies the person."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from redis.asyncio import Redis

from hotline.settings import Settings
from storage.db import create_engine
from tests.conftest import FakeClock
from tests.fakebotapi import FakeBotApi
from tests.telegram_harness import telegram_rig
from tests.telegram_updates import TelegramUser

# Flushes the run's Redis database: `make test` runs it with the other Redis tests, alone.
pytestmark = pytest.mark.redis


async def _count_tips(settings: Settings) -> int:
    engine = create_engine(settings.effective_database_url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(sa.text("SELECT count(*) FROM tips")) or 0)
    finally:
        await engine.dispose()


@pytest.fixture
async def redis_settings(settings: Settings) -> AsyncIterator[Settings]:
    url = os.environ.get("HOTLINE_TEST_REDIS_URL")
    if not url:
        pytest.skip("HOTLINE_TEST_REDIS_URL not set: Redis tests skipped")
    redis = Redis.from_url(url)
    await redis.flushdb()
    await redis.aclose()
    yield settings.model_copy(update={"redis_url": url})


async def test_two_workers_sharing_redis_handle_one_conversation_alternately(
    redis_settings: Settings, clock: FakeClock
) -> None:
    user = TelegramUser(language_code="en")
    api = FakeBotApi()
    async with (
        telegram_rig(redis_settings, clock, api=api) as a,
        telegram_rig(redis_settings, clock, api=api) as b,
    ):
        steps = [
            user.command("start", "tip"),
            user.text("Men recruit girls at the bus station for 'jobs' in a karaoke bar"),
            user.text("Skip"),
            user.tap("files:done"),
            user.tap("danger:no"),
            user.tap("confirm:send"),
        ]
        for i, update in enumerate(steps):
            worker = a if i % 2 == 0 else b
            await worker.send(update)
            # Telegram retries on the other worker too: claimed once, handled once.
            other = b if worker is a else a
            assert await other.post(update) == 200
            await other.bot.drain()
        assert "Receipt code" in api.texts(user.chat_id)[-2]
        assert a.bot.duplicates + b.bot.duplicates == len(steps)
    assert await _count_tips(redis_settings) == 1


async def test_a_failing_send_loses_neither_the_report_nor_privacy(
    settings: Settings, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user = TelegramUser(language_code="en")
    async with telegram_rig(settings, clock) as rig:
        await rig.send(user.command("start", "tip"), user.text("Secret venue details"), user.text("Skip"))
        await rig.send(user.tap("files:done"), user.tap("danger:no"))
        # One 500: the gate resends, and the receipt arrives.
        rig.api.failures["sendMessage"] = 1
        await rig.send(user.tap("confirm:send"))
        assert "Receipt code" in rig.api.texts(user.chat_id)[-2]
        assert rig.bot.counters.get("errors", 0) == 0

        # The Bot API down for good while the next report is confirmed: the handler fails...
        await rig.send(user.tap("notify:no"), user.command("start", "tip"), user.text("Second report"))
        await rig.send(user.text("Skip"), user.tap("files:done"), user.tap("danger:no"))
        rig.api.failures["sendMessage"] = 100
        await rig.send(user.tap("confirm:send"))
        assert rig.bot.counters["errors"] == 1
        # ...and the bot keeps serving afterwards.
        rig.api.failures.clear()
        await rig.send(user.command("help"))
        assert "/stop" in rig.last_text(user.chat_id)
    # ...but both confirmed reports are stored.
    assert await _count_tips(rig.settings) == 2
    failures = [r for r in caplog.records if r.name == "bot.handlers" and r.levelno >= logging.ERROR]
    assert len(failures) == 1 and "NetworkError" in failures[0].getMessage()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (str(user.user_id), user.username, user.first_name, "Secret venue", "Second report"):
        assert secret not in logged


async def test_redis_down_still_takes_the_report(settings: Settings, clock: FakeClock) -> None:
    """A Redis outage must not stop intake (state and ledger degrade)."""
    down = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    user = TelegramUser(language_code="en")
    async with telegram_rig(down, clock) as rig:
        start = user.command("start", "tip")
        await rig.send(start, user.text("Trafficking ring at the port"), user.text("Skip"))
        await rig.send(user.tap("files:done"), user.tap("danger:no"), user.tap("confirm:send"))
        assert "Receipt code" in rig.api.texts(user.chat_id)[-2]
        assert await rig.post(start) == 200  # a redelivery: still recognised on this worker
        await rig.bot.drain()
        assert rig.bot.duplicates == 1 and rig.bot.counters.get("errors", 0) == 0
    assert await _count_tips(down) == 1


async def test_webhook_answers_before_the_bot_has_replied(settings: Settings, clock: FakeClock) -> None:
    api = FakeBotApi(hold=asyncio.Event())  # every send waits until the test lets it go
    user = TelegramUser()
    async with telegram_rig(settings, clock, api=api) as rig:
        # Telegram is not kept waiting on our Bot API calls: the 200 comes while every send is
        # still held (a webhook that waited for its reply would never answer).
        assert await asyncio.wait_for(rig.post(user.command("help")), 30) == 200
        assert api.hold is not None
        api.hold.set()
        await rig.bot.drain()
        assert "/stop" in rig.last_text(user.chat_id)


async def test_a_burst_of_one_chats_updates_is_handled_in_order(settings: Settings, clock: FakeClock) -> None:
    """Posted back to back (as Telegram may after an outage) while other chats are busy:
    the per-chat order holds, so the flow ends in exactly one tip."""
    user = TelegramUser(language_code="en")
    others = [TelegramUser(user_id=3_000_000 + i, username=f"o{i}", first_name=f"O{i}") for i in range(6)]
    async with telegram_rig(settings, clock) as rig:
        flow = [
            user.command("start", "tip"),
            user.text("Minors seen at a massage parlour"),
            user.text("Skip"),
            user.tap("files:done"),
            user.tap("danger:yes"),
            user.tap("confirm:send"),
        ]
        for i, update in enumerate(flow):
            assert await rig.post(update) == 200
            assert await rig.post(others[i].command("start")) == 200
        await rig.bot.drain()
        assert "Receipt code" in rig.api.texts(user.chat_id)[-2]
    assert await _count_tips(rig.settings) == 1
