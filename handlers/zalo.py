"""`POST /zalo/webhook`: the Zalo Bot Platform's events, checked, deduplicated and queued.

A wrong or missing `X-Bot-Api-Secret-Token` gets 403 and nothing is looked at; a body
that is not an event gets 400; every well-formed event gets 200 as soon as it is queued
(a redelivered message id too, so the platform stops resending it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from channels.webhook import BadBody, parse_object, secret_ok
from channels.zalo.runtime import ZaloBot
from handlers.keys import SERVICES
from hotline.settings import Settings
from hotline.zalo import open_zalo

ZALO_BOT = web.AppKey("zalo_bot", ZaloBot)
WEBHOOK_SECRET = web.AppKey("zalo_webhook_secret", str)
SECRET_HEADER = "X-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
PATH = "/zalo/webhook"


def register(app: web.Application, *, secret: str | None) -> None:
    """Add the webhook route; without a configured secret every call is refused."""
    app[WEBHOOK_SECRET] = secret or ""
    app.router.add_post(PATH, webhook)


async def webhook(request: web.Request) -> web.Response:
    if not secret_ok(request.app[WEBHOOK_SECRET], request.headers.get(SECRET_HEADER)):
        raise web.HTTPForbidden(text="wrong or missing secret token")
    bot = request.app.get(ZALO_BOT)
    if bot is None:
        raise web.HTTPServiceUnavailable(text="the bot is not running")
    try:
        payload = parse_object(await request.read())
        await bot.feed(payload)
    except BadBody as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    except ValueError:
        raise web.HTTPBadRequest(text="the body is not a Zalo event") from None
    return web.json_response({"ok": True})


def setup(app: web.Application, settings: Settings) -> None:
    """Route the webhook, and when a token is configured start the bot with the app (after
    the services, which it uses) and stop it before them."""
    register(app, secret=settings.zalo_webhook_secret)
    if not settings.zalo_token:
        return

    async def zalo_ctx(app: web.Application) -> AsyncIterator[None]:
        async with open_zalo(settings, app[SERVICES].chat) as bot:
            app[ZALO_BOT] = bot
            yield

    app.cleanup_ctx.append(zalo_ctx)
