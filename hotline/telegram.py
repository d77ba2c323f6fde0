"""Wiring of the Telegram bot: the engine and the PTB application, built from settings,
and the chat services shared by every channel (hotline/channels.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from bot.notices import telegram_notifier
from bot.ratelimit import HotlineRateLimiter
from bot.runtime import TelegramBot, bot_client, build_application
from core.categories import Channel
from hotline.channels import ChatServices
from hotline.logs import quiet_libraries
from hotline.settings import Settings


@asynccontextmanager
async def open_telegram(
    settings: Settings, chat: ChatServices, *, limiter: HotlineRateLimiter | None = None
) -> AsyncIterator[TelegramBot]:
    """Build the bot over the shared chat services, start it (webhook: queue processing;
    polling: also long polling), and stop it on the way out after the queued updates."""
    if not settings.telegram_token:
        raise ValueError("HOTLINE_TELEGRAM_TOKEN is not set")
    quiet_libraries()
    async with AsyncExitStack() as stack:
        engine = chat.engine(Channel.TELEGRAM)

        async def blocked(chat_id: int | str) -> None:
            await engine.left(chat.keys.chat_key(Channel.TELEGRAM.value, str(chat_id)))

        gate = limiter or HotlineRateLimiter(overall_per_second=settings.telegram_rate)
        gate.on_blocked = blocked
        application = build_application(
            token=settings.telegram_token,
            api_url=settings.telegram_api_url,
            engine=engine,
            keys=chat.keys,
            limiter=gate,
            polling=settings.telegram_mode == "polling",
        )
        notifier = telegram_notifier(chat.outbox, application.bot)
        polling = settings.telegram_mode == "polling"
        bot = TelegramBot(application, chat.ledger, polling=polling, notifier=notifier)
        await bot.start()
        stack.push_async_callback(bot.stop)
        yield bot


async def set_webhook(settings: Settings, url: str, *, drop_pending: bool = False) -> None:
    """Register `url` with the Bot API, with our secret token and every update type."""
    from telegram import Update

    if not settings.telegram_token:
        raise ValueError("HOTLINE_TELEGRAM_TOKEN is not set")
    if not settings.telegram_webhook_secret:
        raise ValueError("HOTLINE_TELEGRAM_WEBHOOK_SECRET is not set: the webhook would refuse every update")
    if not url.startswith("https://"):
        raise ValueError("Telegram only delivers to an https:// URL")
    async with bot_client(settings.telegram_token, settings.telegram_api_url) as bot:
        await bot.set_webhook(
            url,
            secret_token=settings.telegram_webhook_secret,
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=drop_pending,
        )
