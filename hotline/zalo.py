"""Wiring of the Zalo bot: one aiohttp client session, the API client, the engine in
text-only mode and the runtime, built from settings and the shared chat services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import aiohttp

from channels.notices import ReplyNotifier
from channels.zalo.api import MediaHosts, ZaloApi
from channels.zalo.runtime import ZaloBot, ZaloNotices
from core.categories import Channel
from hotline.channels import ChatServices
from hotline.settings import Settings


@asynccontextmanager
async def open_zalo_api(settings: Settings, **session_options: Any) -> AsyncIterator[ZaloApi]:
    """The API client over its own connection pool, closed on the way out."""
    if not settings.zalo_token:
        raise ValueError("HOTLINE_ZALO_TOKEN is not set")
    async with aiohttp.ClientSession(**session_options) as session:
        yield ZaloApi(
            session,
            settings.zalo_token,
            settings.zalo_api_url,
            media_hosts=MediaHosts(settings.zalo_media_hosts),
        )


@asynccontextmanager
async def open_zalo(settings: Settings, chat: ChatServices) -> AsyncIterator[ZaloBot]:
    """Build the Zalo bot over the shared chat services, start it, stop it on the way out."""
    async with AsyncExitStack() as stack:
        api = await stack.enter_async_context(open_zalo_api(settings))
        engine = chat.engine(Channel.ZALO, text_only=True)

        def notifier(bot: ZaloBot) -> ReplyNotifier:
            return ReplyNotifier(chat.outbox, Channel.ZALO.value, ZaloNotices(bot))

        bot = ZaloBot(
            api,
            engine,
            chat.keys,
            chat.ledger,
            rate=settings.zalo_rate,
            max_file_bytes=chat.attachment_policy.max_file_bytes,
            public_url=settings.public_url or None,
            outbox_notifier=notifier,
        )
        await bot.start()
        stack.push_async_callback(bot.stop)
        yield bot
