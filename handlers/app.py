"""The application factory: tests and `hotline serve` build the very same app."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from core.services import Clock, utc_now
from handlers import health, public_api, staff_api
from handlers.errors import Handler, json_errors
from handlers.keys import METRICS, SERVICES, SETTINGS
from handlers.metrics import Metrics
from hotline.bootstrap import open_services
from hotline.settings import Settings


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """No third-party anything, no framing, no referrer carrying a receipt URL."""
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
    return response


def create_app(settings: Settings, *, clock: Clock = utc_now) -> web.Application:
    """Build the web application; the database opens on startup and closes on cleanup."""
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[security_headers, json_errors],
    )
    app[SETTINGS] = settings
    app[METRICS] = Metrics()

    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        async with open_services(settings, clock) as services:
            app[SERVICES] = services
            yield

    app.cleanup_ctx.append(services_ctx)
    app.add_routes(health.routes)
    app.add_routes(public_api.routes)
    app.add_routes(staff_api.routes)
    app.router.add_get("/", index)
    return app


async def index(request: web.Request) -> web.Response:
    """Until the public pages arrive, say what this server is and where the API lives."""
    del request
    return web.json_response(
        {
            "service": "hotline",
            "submit_tip": "POST /api/v1/tips",
            "health": "/healthz",
            "metrics": "/metrics",
            "emergency_numbers": {"police": "113", "child_protection_and_trafficking": "111"},
        }
    )
