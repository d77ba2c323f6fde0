"""The Zalo test rig: the fake platform, the project's web app with the Zalo bot started
in it, and helpers to post events to the webhook and wait until they are handled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from channels.zalo.runtime import ZaloBot
from handlers.zalo import SECRET_HEADER
from hotline.settings import Settings
from tests.fakezalo import FakeZalo

WEBHOOK_SECRET = "zalo-webhook-secret-123"
SECRET_KEY = "k" * 40


@dataclass
class ZaloRig:
    api: FakeZalo
    client: TestClient[web.Request, web.Application]
    bot: ZaloBot
    settings: Settings
    media_root: str

    async def post(self, event: Any, *, secret: str | None = WEBHOOK_SECRET) -> int:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        response = await self.client.post("/zalo/webhook", json=event, headers=headers)
        return response.status

    async def send(self, *events: dict[str, Any]) -> None:
        """Post each event (asserting 200) and wait until the bot has handled it."""
        for event in events:
            status = await self.post(event)
            assert status == 200, status
            await self.bot.drain()

    def last_text(self, chat_id: str) -> str:
        texts = self.api.texts(chat_id)
        return texts[-1] if texts else ""

    def media_url(self, name: str) -> str:
        return f"{self.media_root}/media/{name}"


def zalo_settings(settings: Settings, api_root: str, **overrides: Any) -> Settings:
    fields = settings.model_dump()
    fields.update(
        zalo_token=FakeZalo().token,
        zalo_api_url=api_root,
        zalo_webhook_secret=WEBHOOK_SECRET,
        zalo_media_hosts=(api_root,),
        zalo_rate=1000.0,
        secret_key=SECRET_KEY,
        public_url="https://tinbao.example.gov.vn",
    )
    fields.update(overrides)
    return Settings(**fields)


@asynccontextmanager
async def zalo_rig(
    settings: Settings, clock: Any, *, api: FakeZalo | None = None, **overrides: Any
) -> AsyncIterator[ZaloRig]:
    """The fake platform, then the web app with the Zalo bot, both on real sockets."""
    from handlers.app import create_app
    from handlers.zalo import ZALO_BOT

    fake = api or FakeZalo()
    async with AsyncExitStack() as stack:
        server = TestServer(fake.app())
        await server.start_server()
        stack.push_async_callback(server.close)
        root = str(server.make_url("")).rstrip("/")
        configured = zalo_settings(settings, root, **overrides)
        app = create_app(configured, clock=clock)
        client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
        await client.start_server()
        stack.push_async_callback(client.close)
        yield ZaloRig(fake, client, app[ZALO_BOT], configured, root)
