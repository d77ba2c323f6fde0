"""`POST /telegram/webhook`: Telegram's updates, checked, deduplicated and queued.

The answer is 200 as soon as the update is queued (Telegram waits for it before sending
the chat's next update, and retries on anything else); the bot handles it right after.
A wrong or missing secret token gets 403 and nothing is looked at.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bot.ratelimit import HotlineRateLimiter
from bot.runtime import TelegramBot
from channels.webhook import BadBody, parse_object, secret_ok
from handlers.keys import SERVICES
from hotline.settings import Settings
from hotline.telegram import open_telegram

TELEGRAM_BOT = web.AppKey("telegram_bot", TelegramBot)
WEBHOOK_SECRET = web.AppKey("telegram_webhook_secret", str)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
PATH = "/telegram/webhook"


def register(app: web.Application, *, secret: str | None) -> None:
    """Add the webhook route; without a configured secret every call is refused."""
    app[WEBHOOK_SECRET] = secret or ""
    app.router.add_post(PATH, webhook)


async def webhook(request: web.Request) -> web.Response:
    """Check the secret in constant time, parse, hand over, answer 200."""
    if not secret_ok(request.app[WEBHOOK_SECRET], request.headers.get(SECRET_HEADER)):
        raise web.HTTPForbidden(text="wrong or missing secret token")
    bot = request.app.get(TELEGRAM_BOT)
    if bot is None:
        raise web.HTTPServiceUnavailable(text="the bot is not running")
    try:
        payload = parse_object(await request.read())
    except BadBody as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    try:
        await bot.feed(payload)
    except ValueError:
        raise web.HTTPBadRequest(text="the body is not a Telegram update") from None
    return web.Response(status=200)


def setup(app: web.Application, settings: Settings, *, limiter: HotlineRateLimiter | None = None) -> None:
    """Route the webhook, and when a token is configured start the bot with the app (after
    the services, which it uses) and stop it before them."""
    register(app, secret=settings.telegram_webhook_secret)
    if not settings.telegram_token:
        return

    async def telegram_ctx(app: web.Application) -> AsyncIterator[None]:
        async with open_telegram(settings, app[SERVICES].chat, limiter=limiter) as bot:
            app[TELEGRAM_BOT] = bot
            yield

    app.cleanup_ctx.append(telegram_ctx)
