"""The application factory: tests and `hotline serve` build the very same app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from bot.ratelimit import HotlineRateLimiter
from core.services import Clock, utc_now
from handlers import (
    health,
    learn,
    pages,
    public_api,
    receipt_once,
    staff_admin,
    staff_api,
    staff_charts,
    staff_establishments,
    staff_events,
    staff_names,
    staff_openapi,
    staff_outreach,
    staff_pages,
    staff_register,
    staff_support,
    staff_training,
    support_pages,
    telegram,
    zalo,
)
from handlers.errors import Handler, error_response, json_errors
from handlers.keys import METRICS, SERVICES, SETTINGS, STOPPING
from handlers.metrics import Metrics
from hotline.bootstrap import open_services
from hotline.settings import Settings

STATIC = Path(__file__).parent / "static"
#: Pages may load our own stylesheet and post forms to us; nothing else, no scripts at all.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """No third-party anything, no framing, no referrer carrying a receipt URL."""
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    html = response.content_type == "text/html" or request.path.startswith("/static/")
    response.headers.setdefault("Content-Security-Policy", PAGE_CSP if html else API_CSP)
    return response


@web.middleware
async def close_when_stopping(request: web.Request, handler: Handler) -> web.StreamResponse:
    """While the server stops (SIGTERM), every answer closes its connection: a client then
    sends its next request on a new connection, which is refused at once (safe to retry),
    instead of on a kept-alive one that closes under it unanswered."""
    response = await handler(request)
    if request.app[STOPPING].is_set():
        response.force_close()
    return response


async def _stopping(app: web.Application) -> None:
    """on_shutdown: the listening socket is closed; requests in flight are still running."""
    app[STOPPING].set()


@web.middleware
async def body_limits(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a declared oversize body from its Content-Length, before reading a byte.

    Multipart bodies may carry files up to the upload limit; everything else gets the
    small JSON/form limit (aiohttp enforces that one again while reading).
    """
    settings = request.app[SETTINGS]
    if request.content_type == "multipart/form-data":
        limit = settings.max_upload_bytes + settings.max_body_bytes
    else:
        limit = settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        return error_response(413, "request_entity_too_large", f"the body is larger than {limit} bytes")
    return await handler(request)


def create_app(
    settings: Settings, *, clock: Clock = utc_now, telegram_limiter: HotlineRateLimiter | None = None
) -> web.Application:
    """Build the web application; the database opens on startup and closes on cleanup
    (and the Telegram bot, when a token is configured, starts and stops in between)."""
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[close_when_stopping, security_headers, pages.html_errors, json_errors, body_limits],
    )
    app[SETTINGS] = settings
    app[STOPPING] = asyncio.Event()
    app.on_shutdown.append(_stopping)
    app[METRICS] = Metrics()
    receipt_once.setup(app, settings)
    staff_names.setup(app)

    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        async with open_services(settings, clock) as services:
            app[SERVICES] = services
            app[METRICS].watch_intake(services.intake)
            await services.intake.start_analyser()  # ready (a second or two) before a burst
            yield

    app.cleanup_ctx.append(services_ctx)
    telegram.setup(app, settings, limiter=telegram_limiter)
    zalo.setup(app, settings)
    app.add_routes(health.routes)
    app.add_routes(public_api.routes)
    app.add_routes(staff_api.routes)
    staff_events.setup(app)
    app.add_routes(staff_charts.routes)
    staff_openapi.register(public_api.api)
    app.add_routes(pages.routes)
    learn.setup(app)  # public library pages; after services_ctx: views flush before it closes
    app.add_routes(staff_pages.routes)
    app.add_routes(staff_outreach.routes)
    app.add_routes(staff_establishments.routes)
    app.add_routes(staff_admin.routes)
    app.add_routes(staff_register.routes)
    app.add_routes(support_pages.routes)
    app.add_routes(staff_support.routes)
    app.add_routes(staff_training.routes)
    app.router.add_static("/static/", STATIC, append_version=False)
    return app
