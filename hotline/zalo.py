"""Wiring of the Zalo bot: one aiohttp client session, the API client, the engine in
text-only mode and the runtime, built from settings and the already opened services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import aiohttp

from channels.notices import ReplyNotifier
from channels.zalo.api import MediaHosts, ZaloApi
from channels.zalo.runtime import ZaloBot, ZaloNotices
from core.attachments import AttachmentPolicy
from core.categories import Channel
from core.chat.engine import ChatEngine
from core.chat.flows.support import SupportAsker
from core.chat.identity import ChatKeys
from core.chat.ports import ChatDirectory, NoticeOutbox, Reporter, SubscriberAreas
from core.knowledge import AnswerService
from core.services import Clock, utc_now
from hotline.channels import open_chat_storage, province_places
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
async def open_zalo(
    settings: Settings,
    *,
    reporter: Reporter,
    directory: ChatDirectory,
    keys: ChatKeys,
    clock: Clock = utc_now,
    outbox: NoticeOutbox | None = None,
    attachment_policy: AttachmentPolicy,
    answers: AnswerService | None = None,
    areas: SubscriberAreas | None = None,
    support: SupportAsker | None = None,
) -> AsyncIterator[ZaloBot]:
    async with AsyncExitStack() as stack:
        store, ledger = await stack.enter_async_context(open_chat_storage(settings))
        api = await stack.enter_async_context(open_zalo_api(settings))
        engine = ChatEngine(
            reporter=reporter,
            directory=directory,
            places=province_places(settings.province_code),
            store=store,
            clock=clock,
            channel=Channel.ZALO,
            attachment_policy=attachment_policy,
            answers=answers,
            areas=areas,
            support=support,
            text_only=True,
        )

        def notifier(bot: ZaloBot) -> ReplyNotifier:
            assert outbox is not None
            return ReplyNotifier(outbox, Channel.ZALO.value, ZaloNotices(bot))

        bot = ZaloBot(
            api,
            engine,
            keys,
            ledger,
            rate=settings.zalo_rate,
            max_file_bytes=attachment_policy.max_file_bytes,
            public_url=settings.public_url or None,
            outbox_notifier=notifier if outbox is not None else None,
        )
        await bot.start()
        stack.push_async_callback(bot.stop)
        yield bot
