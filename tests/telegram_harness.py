"""The Telegram test rig: the fake Bot API server, the project's web app with the bot
started in it, and helpers to post updates to the webhook and wait until they are handled.

The real python-telegram-bot client does every Bot API call, over HTTP, to the fake.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from bot.ratelimit import HotlineRateLimiter
from bot.runtime import TelegramBot
from handlers.telegram import SECRET_HEADER
from hotline.settings import Settings
from tests.fakebotapi import FakeBotApi
from tests.pdfs import build_pdf

WEBHOOK_SECRET = "s3cret-webhook-token_ABC"
SECRET_KEY = "k" * 40


@dataclass
class Rig:
    api: FakeBotApi
    client: TestClient[web.Request, web.Application]
    bot: TelegramBot
    settings: Settings

    async def post(self, update: dict[str, Any], *, secret: str | None = WEBHOOK_SECRET) -> int:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        response = await self.client.post("/telegram/webhook", json=update, headers=headers)
        return response.status

    async def send(self, *updates: dict[str, Any]) -> None:
        """Post each update (asserting 200) and wait until the bot has handled it."""
        for update in updates:
            status = await self.post(update)
            assert status == 200, status
            await self.bot.drain()

    def last_text(self, chat_id: int) -> str:
        texts = self.api.texts(chat_id)
        return texts[-1] if texts else ""


def telegram_settings(settings: Settings, api_root: str, **overrides: Any) -> Settings:
    fields = settings.model_dump()
    fields.update(
        telegram_token=FakeBotApi().token,
        telegram_api_url=api_root,
        telegram_webhook_secret=WEBHOOK_SECRET,
        secret_key=SECRET_KEY,
        **overrides,
    )
    return Settings(**fields)


def fast_limiter() -> HotlineRateLimiter:
    """Tests send a whole conversation in a blink; a person takes minutes. Per-chat pacing
    has its own test."""
    return HotlineRateLimiter(overall_per_second=30, per_chat_per_second=1000, per_chat_burst=1000)


@asynccontextmanager
async def telegram_rig(
    settings: Settings,
    clock: Any,
    *,
    api: FakeBotApi | None = None,
    limiter: HotlineRateLimiter | None = None,
) -> AsyncIterator[Rig]:
    """The fake Bot API, then the web app with the bot, both on real sockets."""
    from handlers.app import create_app
    from handlers.telegram import TELEGRAM_BOT

    fake = api or FakeBotApi()
    async with AsyncExitStack() as stack:
        server = TestServer(fake.app())
        await server.start_server()
        stack.push_async_callback(server.close)
        configured = telegram_settings(settings, str(server.make_url("")).rstrip("/"))
        app = create_app(configured, clock=clock, telegram_limiter=limiter or fast_limiter())
        client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
        await client.start_server()
        stack.push_async_callback(client.close)
        yield Rig(fake, client, app[TELEGRAM_BOT], configured)


def jpeg_with_gps() -> bytes:
    """A small JPEG carrying EXIF GPS tags, as a phone camera writes them."""
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = {1: "N", 2: (10.0, 46.0, 30.0), 3: "E", 4: (106.0, 41.0, 50.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def tiny_pdf() -> bytes:
    return build_pdf(author=None, xmp=False)

