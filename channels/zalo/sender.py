"""The Zalo side of the broadcast engine: one item to one chat, and what happened.

Zalo has no buttons: the item's link and the words that unsubscribe are written under
the text. The engine takes a token from the bucket shared by every worker before each
call; errors are sorted by whether Zalo can have delivered the message:

- 429 (quota): not delivered; pause the bucket for every worker, resend later.
- 403: the person blocked the bot: blocked, unsubscribed.
- 401: the token is refused: nothing is sent until it is fixed.
- no connection made, or a 5xx answer: not delivered; resend after a backoff.
- a failure after the request left: it may have arrived; sent, unconfirmed, never resent.
- 400 and other refusals: failed, no retry.
"""

from __future__ import annotations

import html
import re

import aiohttp

from channels.text import split_message
from channels.zalo.api import MAX_TEXT, NotSent, ZaloApi, ZaloError
from core.chat.catalogue import text
from core.outreach.content import ContentItem
from core.outreach.ports import Outcome, SendResult

#: The platform does not say how long to wait after a 429.
PAUSE_ON_429 = 1.0
_TAG = re.compile(r"<[^>]{0,200}>")


def plain_text(item: ContentItem) -> str:
    """The item's HTML (written for Telegram) as plain text, the link and how to leave."""
    body = html.unescape(_TAG.sub("", item.text)).strip()
    lines = [body]
    if item.link:
        lines.append(item.link)
    lines.append(text("broadcast.unsubscribe_hint", item.language))
    return "\n\n".join(lines)


class ZaloSender:
    """`core.outreach.ports.Sender` over the Zalo API client."""

    def __init__(self, api: ZaloApi) -> None:
        self.api = api

    async def send(self, address: str, item: ContentItem) -> SendResult:
        pieces = split_message(plain_text(item), MAX_TEXT)
        for index, piece in enumerate(pieces):
            try:
                if index == 0 and item.image and item.image.startswith("https://") and len(piece) <= 1000:
                    await self.api.send_photo(address, item.image, piece)
                else:
                    await self.api.send_message(address, piece)
            except ZaloError as exc:
                if index > 0:  # the first piece arrived: never send the item again
                    return SendResult(Outcome.UNCONFIRMED, error=f"part {index + 1}: {exc}"[:200])
                return _refusal(exc)
            except NotSent as exc:
                if index > 0:
                    return SendResult(Outcome.UNCONFIRMED, error=f"part {index + 1}: {exc}"[:200])
                return SendResult(Outcome.TRANSIENT, error=f"network: {exc}"[:200])
            except (aiohttp.ClientError, TimeoutError) as exc:
                return SendResult(Outcome.UNCONFIRMED, error=f"network: {type(exc).__name__}"[:200])
        return SendResult(Outcome.SENT)


def _refusal(exc: ZaloError) -> SendResult:
    if exc.code == 429:
        return SendResult(Outcome.RETRY_AFTER, retry_after=PAUSE_ON_429, error="429")
    if exc.code == 403:
        return SendResult(Outcome.BLOCKED, error=str(exc)[:200])
    if exc.code == 401:
        return SendResult(Outcome.REFUSED, error="401 the bot token is refused")
    if exc.code >= 500:
        return SendResult(Outcome.TRANSIENT, error=str(exc)[:200])
    return SendResult(Outcome.FAILED, error=str(exc)[:200])
