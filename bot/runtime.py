"""The Telegram bot as one object the web app starts and stops: the PTB Application
(built with `updater(None)` for webhook mode, as in PTB's customwebhookbot example), the
update ledger that makes every `update_id` count once, and long polling for development.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable
from functools import cache
from typing import Any

import httpx
from telegram import Bot, Update
from telegram.ext import ApplicationBuilder, BaseUpdateProcessor, ContextTypes
from telegram.request import HTTPXRequest

from bot.handlers import CHANNEL, BotData, HotlineApplication, HotlineContext, install
from bot.ratelimit import HotlineRateLimiter
from channels.notices import ReplyNotifier
from channels.ordering import ChatLocks
from core.chat.engine import ChatEngine
from core.chat.identity import ChatKeys
from core.chat.state import UpdateLedger

log = logging.getLogger(__name__)

#: Measured with python-telegram-bot: 256 concurrent updates was slower than 1; about 4 was best.
CONCURRENT_UPDATES = 4


def api_root(configured: str) -> str:
    """`HOTLINE_TELEGRAM_API_URL` is a server root (`http://127.0.0.1:8081`); the older
    form ending in `/bot` is accepted too."""
    root = configured.rstrip("/")
    return root.removesuffix("/bot")


@cache
def tls_context() -> ssl.SSLContext:
    """The certificate authorities, read once per process: every HTTP client of the Bot
    API would otherwise read the whole bundle again (some 45 ms each on a slow core)."""
    return httpx.create_ssl_context()


def bot_api_request(**options: Any) -> HTTPXRequest:
    """An HTTP client for the Bot API, on the shared TLS context; `options` are
    HTTPXRequest's (pool size, timeouts)."""
    return HTTPXRequest(**options, httpx_kwargs={"verify": tls_context()})


def bot_client(token: str, api_url: str, request: HTTPXRequest | None = None) -> Bot:
    """A bare Bot API client (no handlers) over the configured server root, for the
    broadcast worker and `hotline telegram set-webhook`."""
    root = api_root(api_url)
    return Bot(
        token,
        base_url=f"{root}/bot",
        base_file_url=f"{root}/file/bot",
        request=request or bot_api_request(),
        get_updates_request=bot_api_request(),
    )


class PerChatProcessor(BaseUpdateProcessor):
    """A few updates at once, but one chat's updates strictly in order: its flow state is
    read and written per update, so two of them must not interleave."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks = ChatLocks()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        await self._locks.run(chat.id, coroutine)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


def build_application(
    *,
    token: str,
    api_url: str,
    engine: ChatEngine,
    keys: ChatKeys,
    limiter: HotlineRateLimiter,
    polling: bool = False,
) -> HotlineApplication:
    """The PTB application over the configured Bot API root, with our handlers installed."""
    root = api_root(api_url)
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .context_types(ContextTypes(context=HotlineContext, bot_data=BotData))
        .rate_limiter(limiter)
        .concurrent_updates(PerChatProcessor(CONCURRENT_UPDATES))
        .request(bot_api_request(connection_pool_size=CONCURRENT_UPDATES * 2))
        .get_updates_request(bot_api_request())
        .job_queue(None)
    )
    if not polling:
        builder = builder.updater(None)
    application: HotlineApplication = builder.build()
    application.bot_data.engine = engine
    application.bot_data.keys = keys
    install(application)
    return application


#: Parts of an update that always belong to a chat; without one the update is not real.
_CHAT_PARTS = (
    "message", "edited_message", "channel_post", "edited_channel_post", "business_message",
    "edited_business_message", "my_chat_member", "chat_member", "chat_join_request",
)  # fmt: skip


def _lacks_chat(update: Update) -> bool:
    """A message (or membership change, or a button's message) that names no chat: the
    handlers would fail on it, so it is acknowledged and dropped instead."""
    for name in _CHAT_PARTS:
        part = getattr(update, name, None)
        if part is not None and getattr(part, "chat", None) is None:
            return True
    query = update.callback_query
    return query is not None and query.message is not None and getattr(query.message, "chat", None) is None


class TelegramBot:
    """What the webhook handler and the app lifecycle talk to."""

    def __init__(
        self,
        application: HotlineApplication,
        ledger: UpdateLedger,
        *,
        polling: bool = False,
        notifier: ReplyNotifier | None = None,
    ) -> None:
        self.application = application
        self.ledger = ledger
        self.polling = polling
        self.notifier = notifier
        self.duplicates = 0

    @property
    def counters(self) -> dict[str, int]:
        return self.application.bot_data.counters

    async def feed(self, payload: dict[str, Any]) -> bool:
        """Queue one webhook update unless its `update_id` was already taken (by this or
        another worker). Returns False for a redelivery; raises ValueError for a body that
        is not an update."""
        update_id = payload.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            raise ValueError("an update needs an integer update_id")
        try:
            update = Update.de_json(payload, self.application.bot)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError("not a Telegram update") from exc
        if not await self.ledger.first_time(CHANNEL.value, update_id):
            self.duplicates += 1
            return False
        if _lacks_chat(update):
            self.counters["ignored"] = self.counters.get("ignored", 0) + 1
            return True
        await self.application.update_queue.put(update)
        return True

    async def start(self) -> None:
        await self.application.initialize()
        await self.application.start()
        if self.polling and self.application.updater is not None:
            await self.application.bot.delete_webhook()
            await self.application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
            log.info("telegram: long polling started (development mode)")
        if self.notifier is not None:
            self.notifier.start()

    async def stop(self) -> None:
        if self.notifier is not None:
            await self.notifier.stop()
        if self.application.updater is not None and self.application.updater.running:
            await self.application.updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    async def drain(self) -> None:
        """Wait until every queued update has been handled (tests and the benchmark)."""
        await self.application.update_queue.join()
