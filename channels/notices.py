"""Tells a reporter who agreed to it that their tip has a reply: a short neutral notice,
never the reply itself (someone else may hold the phone). One loop per channel, each
with its own way to send.

The database is the outbox: each consent remembers the newest officer message already
announced, so a restart neither repeats nor skips a notice (at worst one notice is sent
twice if the process dies between the send and the mark).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from core.chat.catalogue import text
from core.chat.ports import NoticeOutbox

log = logging.getLogger(__name__)

POLL_SECONDS = 15.0


class ChatGone(Exception):
    """The person blocked the bot: the notice can never be delivered; mark it done."""


class NoticeSender(Protocol):
    async def notify(self, address: str, message: str) -> None:
        """Send `message`; raise `ChatGone` for a blocked chat, anything else to retry."""
        ...


class ReplyNotifier:
    def __init__(
        self, outbox: NoticeOutbox, channel: str, sender: NoticeSender, interval: float = POLL_SECONDS
    ) -> None:
        self.outbox = outbox
        self.channel = channel
        self.sender = sender
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        """Send every pending notice of this channel; returns how many were sent."""
        sent = 0
        for notice in await self.outbox.pending_notices():
            if notice.channel != self.channel:
                continue
            try:
                await self.sender.notify(notice.address, text("notify.reply", notice.language))
            except ChatGone:
                pass  # blocked: the chat is unsubscribed; nothing more to say
            except Exception as exc:
                log.warning("a reply notice could not be sent (%s); will retry", type(exc).__name__)
                continue
            await self.outbox.mark_notified(notice.notice_id, notice.message_id)
            sent += 1
        return sent

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.run_once()
            except Exception as exc:  # the loop must survive a database hiccup
                # The type only: driver errors quote their SQL parameters.
                log.error("reply notices failed this round: %s", type(exc).__name__)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
