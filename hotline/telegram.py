"""Wiring of the Telegram bot: the engine and the PTB application, built from settings,
the shared chat storage (hotline/channels.py) and the already opened services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from bot.notices import telegram_notifier
from bot.ratelimit import HotlineRateLimiter
from bot.runtime import TelegramBot, api_root, build_application
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

__all__ = ["open_chat_storage", "open_telegram", "province_places", "set_webhook"]


@asynccontextmanager
async def open_telegram(
    settings: Settings,
    *,
    reporter: Reporter,
    directory: ChatDirectory,
    keys: ChatKeys,
    clock: Clock = utc_now,
    limiter: HotlineRateLimiter | None = None,
    outbox: NoticeOutbox | None = None,
    attachment_policy: AttachmentPolicy,
    answers: AnswerService | None = None,
    areas: SubscriberAreas | None = None,
    support: SupportAsker | None = None,
) -> AsyncIterator[TelegramBot]:
    """Build the bot, start it (webhook: queue processing; polling: also long polling),
    and stop it on the way out after the queued updates are handled."""
    if not settings.telegram_token:
        raise ValueError("HOTLINE_TELEGRAM_TOKEN is not set")
    async with AsyncExitStack() as stack:
        store, ledger = await stack.enter_async_context(open_chat_storage(settings))
        engine = ChatEngine(
            reporter=reporter,
            directory=directory,
            places=province_places(settings.province_code),
            store=store,
            clock=clock,
            channel=Channel.TELEGRAM,
            attachment_policy=attachment_policy,
            answers=answers,
            areas=areas,
            support=support,
        )

        async def blocked(chat_id: int | str) -> None:
            await engine.left(keys.chat_key(Channel.TELEGRAM.value, str(chat_id)))

        gate = limiter or HotlineRateLimiter(overall_per_second=settings.telegram_rate)
        gate.on_blocked = blocked
        application = build_application(
            token=settings.telegram_token,
            api_url=settings.telegram_api_url,
            engine=engine,
            keys=keys,
            limiter=gate,
            polling=settings.telegram_mode == "polling",
        )
        notifier = telegram_notifier(outbox, application.bot) if outbox is not None else None
        bot = TelegramBot(application, ledger, polling=settings.telegram_mode == "polling", notifier=notifier)
        await bot.start()
        stack.push_async_callback(bot.stop)
        yield bot


async def set_webhook(settings: Settings, url: str, *, drop_pending: bool = False) -> None:
    """Register `url` with the Bot API, with our secret token and every update type."""
    from telegram import Bot, Update

    if not settings.telegram_token:
        raise ValueError("HOTLINE_TELEGRAM_TOKEN is not set")
    if not settings.telegram_webhook_secret:
        raise ValueError("HOTLINE_TELEGRAM_WEBHOOK_SECRET is not set: the webhook would refuse every update")
    if not url.startswith("https://"):
        raise ValueError("Telegram only delivers to an https:// URL")
    root = api_root(settings.telegram_api_url)
    async with Bot(settings.telegram_token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot") as bot:
        await bot.set_webhook(
            url,
            secret_token=settings.telegram_webhook_secret,
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=drop_pending,
        )
