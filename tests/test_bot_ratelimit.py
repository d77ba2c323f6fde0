"""The outgoing gate: Telegram's 429 pauses and resends (never drops), 403 for a blocked
bot unsubscribes the chat, and sends are paced globally and per chat."""

from __future__ import annotations

import asyncio

from bot.ratelimit import HotlineRateLimiter, TokenBucket
from hotline.settings import Settings
from tests.conftest import FakeClock
from tests.fakebotapi import FakeBotApi
from tests.telegram_harness import telegram_rig
from tests.telegram_updates import TelegramUser
from tests.virtual_time import VirtualTime


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_a_burst_then_one_per_second() -> None:
    ticks = Ticks()
    bucket = TokenBucket(rate=1.0, burst=3.0, clock=ticks)
    delays = [bucket.delay() for _ in range(5)]
    assert delays == [0.0, 0.0, 0.0, 1.0, 2.0]
    ticks.now += 10
    assert bucket.delay() == 0.0


class Pauses:
    """The limiter's sleeps, recorded instead of slept, on a clock that stands still."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        await asyncio.sleep(0)


async def test_429_is_waited_out_and_the_message_resent(settings: Settings, clock: FakeClock) -> None:
    user = TelegramUser()
    pauses = Pauses()
    limiter = HotlineRateLimiter(
        overall_per_second=30, per_chat_per_second=1000, per_chat_burst=1000, clock=Ticks(), sleep=pauses
    )
    async with telegram_rig(settings, clock, limiter=limiter) as rig:
        rig.api.throttle_next("sendMessage", 2, retry_after=1)
        await rig.send(user.command("help"))
        calls = rig.api.calls_to("sendMessage", user.chat_id)
        assert len(calls) == 3 and rig.api.too_many == 2
        assert pauses.asked == [1.0, 1.0]  # each 429's retry_after waited out before resending
        assert rig.bot.counters.get("errors", 0) == 0


async def test_nothing_lost_against_a_strict_server_limit(settings: Settings, clock: FakeClock) -> None:
    """A limiter that drops on 429 loses messages; this one must not. The server counts
    its seconds on the limiter's clock, which moves only when the limiter waits."""
    time = VirtualTime()
    api = FakeBotApi(max_sends_per_second=10, clock=time)
    limiter = HotlineRateLimiter(
        overall_per_second=30, per_chat_per_second=1, per_chat_burst=1, clock=time, sleep=time.sleep
    )
    async with telegram_rig(settings, clock, api=api, limiter=limiter) as rig:
        bot = rig.bot.application.bot
        results = await asyncio.gather(*(bot.send_message(1000 + i, f"tin {i}") for i in range(40)))
        assert len(results) == 40
    delivered = {c.chat_id for c in api.calls_to("sendMessage") if c.chat_id is not None}
    assert api.too_many > 0  # the server did push back...
    assert delivered == {1000 + i for i in range(40)}  # ...and every message still arrived
    assert limiter.retries == api.too_many
    assert max(time.slept) >= 1.0  # the server's retry_after was waited out


async def test_sends_to_one_chat_are_paced(settings: Settings, clock: FakeClock) -> None:
    pauses = Pauses()
    limiter = HotlineRateLimiter(
        overall_per_second=30, per_chat_per_second=4, per_chat_burst=1, clock=Ticks(), sleep=pauses
    )
    async with telegram_rig(settings, clock, limiter=limiter) as rig:
        bot = rig.bot.application.bot
        await asyncio.gather(*(bot.send_message(4242, f"m{i}") for i in range(5)))
        assert len(rig.api.calls_to("sendMessage", 4242)) == 5
        # 5 messages at 4/s with no burst, asked at one instant: each waits a quarter second more.
        assert sorted(pauses.asked) == [0.25, 0.5, 0.75, 1.0]


async def test_403_blocked_marks_the_chat_unsubscribed(settings: Settings, clock: FakeClock) -> None:
    user = TelegramUser()
    async with telegram_rig(settings, clock) as rig:
        await rig.send(user.command("start", "sub-parent-vi"))
        rig.api.blocked_chats.add(user.chat_id)
        await rig.send(user.command("help"))  # the reply meets 403
        rig.api.blocked_chats.clear()
        await rig.send(user.text("📰 Tin phòng ngừa"))
        assert "dành cho ai" in rig.last_text(user.chat_id)  # the subscription is gone
