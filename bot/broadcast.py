"""The Telegram side of the broadcast engine: one item to one chat, and what happened.

The worker's `Bot` has no rate limiter of its own: the engine takes a token from the
shared bucket before each call (storage/redis_bucket.py) and decides about retries, so
that a 429 pauses every worker and a resend is never made when the first call may have
arrived. Errors are sorted by whether Telegram can have delivered the message:

- 429 `retry_after`: not delivered; pause the bucket, resend later.
- 403: the person blocked the bot (or deleted the account): blocked, unsubscribed.
- no connection made (connect error or timeout, no free connection in the pool), or a
  5xx answer: not delivered; resend after a backoff.
- a timeout or broken connection after the request was written: it may have been
  delivered; recorded as sent, unconfirmed, and never resent.
- 400 and other refusals: failed, no retry.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError

from core.chat.catalogue import text
from core.outreach.content import ContentItem
from core.outreach.ports import Outcome, SendResult

MORE = {"vi": "Tìm hiểu thêm", "en": "Learn more"}
#: httpx errors raised before any byte of the request could reach Telegram.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
UNSUBSCRIBE = "sub:off"  # handled by core/chat/engine.py at any step


def buttons(item: ContentItem) -> InlineKeyboardMarkup:
    """ "Learn more" (when the item has a link) and "Unsubscribe" under every broadcast."""
    rows: list[list[InlineKeyboardButton]] = []
    if item.link:
        rows.append([InlineKeyboardButton(MORE.get(item.language, MORE["vi"]), url=item.link)])
    rows.append([InlineKeyboardButton(text("btn.unsubscribe", item.language), callback_data=UNSUBSCRIBE)])
    return InlineKeyboardMarkup(rows)


class TelegramSender:
    """`core.outreach.ports.Sender` with a plain python-telegram-bot `Bot`."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        #: An uploaded image is sent again by its Telegram file id, not uploaded each time.
        self._file_ids: dict[str, str] = {}

    async def send(self, address: str, item: ContentItem) -> SendResult:
        try:
            if item.image:
                await self._send_photo(int(address), item)
            else:
                await self.bot.send_message(
                    chat_id=int(address),
                    text=item.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=buttons(item),
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
        except RetryAfter as exc:
            seconds = exc.retry_after
            wait = seconds if isinstance(seconds, int | float) else seconds.total_seconds()
            return SendResult(Outcome.RETRY_AFTER, retry_after=float(wait), error="429")
        except Forbidden as exc:
            return SendResult(Outcome.BLOCKED, error=f"403 {exc.message}"[:200])
        except BadRequest as exc:
            return SendResult(Outcome.FAILED, error=f"400 {exc.message}"[:200])
        except NetworkError as exc:
            return _network(exc)
        except InvalidToken:
            # A configuration error: stop sending rather than fail every row.
            return SendResult(Outcome.REFUSED, error="401 the bot token is refused")
        except TelegramError as exc:
            return SendResult(Outcome.FAILED, error=f"{type(exc).__name__} {exc.message}"[:200])
        return SendResult(Outcome.SENT)

    async def _send_photo(self, chat_id: int, item: ContentItem) -> None:
        assert item.image is not None
        photo: Any = self._file_ids.get(item.image)
        if photo is None:
            photo = (
                item.image
                if item.image.startswith(("http://", "https://"))
                else await asyncio.to_thread(Path(item.image).read_bytes)
            )
        message = await self.bot.send_photo(
            chat_id=chat_id,
            photo=photo,
            caption=item.text,
            parse_mode=ParseMode.HTML,
            reply_markup=buttons(item),
        )
        if message.photo:
            self._file_ids[item.image] = message.photo[-1].file_id


def _network(exc: NetworkError) -> SendResult:
    cause = exc.__cause__
    name = type(cause).__name__ if cause is not None else type(exc).__name__
    if cause is None or isinstance(cause, NOT_SENT) or exc.message.startswith("Pool timeout"):
        # No request reached Telegram (or it answered 5xx): safe to send again.
        return SendResult(Outcome.TRANSIENT, error=f"network: {name}"[:200])
    return SendResult(Outcome.UNCONFIRMED, error=f"network: {name}"[:200])
