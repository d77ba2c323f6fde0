"""Reply notices over Telegram: the channel layer's loop (channels/notices.py) with the
bot's `send_message`; a blocked chat ends the notice."""

from __future__ import annotations

from telegram.error import Forbidden
from telegram.ext import ExtBot

from channels.notices import ChatGone, ReplyNotifier
from core.categories import Channel
from core.chat.ports import NoticeOutbox


class TelegramNotices:
    """`channels.notices.NoticeSender` over a PTB bot (its rate limiter included)."""

    def __init__(self, bot: ExtBot[int]) -> None:
        self.bot = bot

    async def notify(self, address: str, message: str) -> None:
        try:
            await self.bot.send_message(int(address), message)
        except Forbidden as exc:
            raise ChatGone from exc


def telegram_notifier(outbox: NoticeOutbox, bot: ExtBot[int]) -> ReplyNotifier:
    return ReplyNotifier(outbox, Channel.TELEGRAM.value, TelegramNotices(bot))
