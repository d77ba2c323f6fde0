"""One gate for every request the bot sends: the bot's overall rate, about one message per second
per chat (with a small burst), and a `429 retry_after` pauses the whole gate and the request is
resent, never dropped; network errors and 5xx on sends are retried a few times, and a `403` for
a blocked bot is reported to `on_blocked` (which unsubscribes the chat)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import Forbidden, NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter

from channels.pacing import TokenBucket

log = logging.getLogger(__name__)

__all__ = ["HotlineRateLimiter", "TokenBucket"]

#: Methods that put a message in a chat; only these count against Telegram's limits.
SENDING = frozenset(
    {
        "sendMessage", "sendPhoto", "sendDocument", "sendVideo", "sendAudio", "sendAnimation",
        "sendVoice", "sendSticker", "sendLocation", "sendMediaGroup", "copyMessage", "forwardMessage",
    }
)  # fmt: skip
#: Pauses before resending after a network error or a 5xx; then the error is raised.
TRANSIENT_BACKOFF = (0.2, 0.5, 1.0)
BLOCKED_MARKERS = ("blocked by the user", "user is deactivated", "bot was kicked")


class HotlineRateLimiter(BaseRateLimiter[int]):
    """Throttle all sends, and treat 429 as "pause and resend" (the bucket, not the message)."""

    def __init__(
        self,
        *,
        overall_per_second: float,
        per_chat_per_second: float = 1.0,
        per_chat_burst: float = 3.0,
        max_retries: int = 10,
        on_blocked: Callable[[int | str], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._clock, self._sleep = clock, sleep
        self.overall = TokenBucket(overall_per_second, overall_per_second, clock)
        self.per_chat_rate, self.per_chat_burst = per_chat_per_second, per_chat_burst
        self.max_retries = max_retries
        self.on_blocked = on_blocked
        self._chats: dict[object, TokenBucket] = {}
        self.retries = 0  # how many 429s we absorbed; read by tests and the benchmark

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        del rate_limit_args
        chat_id = data.get("chat_id")
        transient = list(TRANSIENT_BACKOFF)
        for attempt in range(self.max_retries + 1):
            if endpoint in SENDING:
                await self._wait_turn(chat_id)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == self.max_retries:
                    raise
                self._pause(exc.retry_after)
                self.retries += 1
            except NetworkError:
                # A receipt that never arrives is a receipt lost: resend a few times. A
                # timeout may mean it did arrive; a repeated message is the lesser harm.
                if endpoint not in SENDING or not transient or attempt == self.max_retries:
                    raise
                await self._sleep(transient.pop(0))
            except Forbidden as exc:
                if chat_id is not None and self.on_blocked is not None and _blocked(exc):
                    await self.on_blocked(chat_id)
                raise
        raise AssertionError("unreachable")  # the loop returns or raises

    async def _wait_turn(self, chat_id: object) -> None:
        delay = self.overall.delay()
        if chat_id is not None:
            bucket = self._chats.get(chat_id)
            if bucket is None:
                if len(self._chats) > 50_000:
                    self._forget_idle()
                bucket = TokenBucket(self.per_chat_rate, self.per_chat_burst, self._clock)
                self._chats[chat_id] = bucket
            delay = max(delay, bucket.delay())
        if delay > 0:
            await self._sleep(delay)

    def _pause(self, retry_after: int | float | timedelta) -> None:
        seconds = retry_after.total_seconds() if isinstance(retry_after, timedelta) else float(retry_after)
        log.warning("Telegram asked us to slow down: pausing all sends for %.1f s", seconds)
        self.overall.pause(seconds)

    def _forget_idle(self) -> None:
        now = self._clock()
        self._chats = {k: b for k, b in self._chats.items() if b.updated > now - 60}


def _blocked(exc: Forbidden) -> bool:
    message = exc.message.lower()
    return any(marker in message for marker in BLOCKED_MARKERS)
