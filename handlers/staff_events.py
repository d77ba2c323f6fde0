"""Live queue: urgent tips arriving, as Server-Sent Events.

`GET /api/v1/staff/events` streams `event: urgent` messages, one per new urgent tip within
the officer's jurisdiction (`id:` is the tip id, so a reconnecting EventSource resumes from
`Last-Event-ID`), and a comment line as a heartbeat. The database is polled every
`HOTLINE_STAFF_EVENTS_POLL_SECONDS` (core/live.py); the session is re-checked at each poll
without counting as activity, so signing out (anywhere) or going idle ends the stream.
A stream lasts at most `MAX_STREAM_SECONDS`; the browser reconnects by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import datetime
from typing import Any

from aiohttp import web

from core.live import ArrivedTip, StreamLimiter
from core.queue import deadline_badge
from core.ratelimits import RateLimited
from handlers.i18n import language, vn_time
from handlers.keys import SERVICES, SETTINGS
from handlers.labels import badge_label, category_label, stage_label
from handlers.staff_api import NO_STORE, require_staff

routes = web.RouteTableDef()
STREAMS = web.AppKey("staff_streams", StreamLimiter)
STOPPING = web.AppKey("staff_streams_stopping", asyncio.Event)
MAX_STREAM_SECONDS = 600
BATCH = 20


def setup(app: web.Application) -> None:
    app[STREAMS] = StreamLimiter(app[SETTINGS].staff_events_per_session)
    app[STOPPING] = asyncio.Event()

    async def stop_streams(app: web.Application) -> None:
        """Shutting down: end every stream now rather than after the server's timeout."""
        app[STOPPING].set()

    app.on_shutdown.append(stop_streams)
    app.add_routes(routes)


def arrived_json(tip: ArrivedTip, lang: str, now: datetime) -> dict[str, Any]:
    badge = deadline_badge(tip.next_due_at, None, now).value
    return {
        "id": tip.id,
        "stage": tip.stage.value,
        "stage_label": stage_label(lang, tip.stage.value),
        "category": tip.category.value if tip.category else None,
        "category_label": category_label(lang, tip.category.value if tip.category else None),
        "urgent": tip.urgent,
        "commune_code": tip.commune_code,
        "received_at": tip.received_at.isoformat(),
        "received": vn_time(tip.received_at),
        "deadline": vn_time(tip.next_due_at),
        "badge": badge,
        "badge_label": badge_label(lang, badge),
    }


def start_after(request: web.Request) -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.query.get("after", "")
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


@routes.get("/api/v1/staff/events")
async def events(request: web.Request) -> web.StreamResponse:
    """Urgent tips as they arrive, within the officer's jurisdiction only."""
    staff = await require_staff(request)
    services = request.app[SERVICES]
    streams = request.app[STREAMS]
    if not streams.acquire(staff.session_hash):
        raise RateLimited("too many live streams open for this session", 30)
    try:
        after = start_after(request)
        if after is None:
            after = await services.live.last_id(staff.jurisdiction)
        response = web.StreamResponse(
            headers={
                **NO_STORE,
                "Content-Type": "text/event-stream; charset=utf-8",
                "X-Accel-Buffering": "no",  # nginx: pass events through at once
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
                "Referrer-Policy": "no-referrer",
            }
        )
        await response.prepare(request)
        lang = language(request)
        poll = request.app[SETTINGS].staff_events_poll_seconds
        await response.write(f"retry: {int(poll * 1000)}\n: live\n\n".encode())
        ends = time.monotonic() + MAX_STREAM_SECONDS
        stopping = request.app[STOPPING]
        while time.monotonic() < ends and not stopping.is_set():
            if not await services.staff.still_signed_in(staff):
                await response.write(b"event: ended\ndata: {}\n\n")
                break
            for tip in await services.live.urgent_after(staff.jurisdiction, after, BATCH):
                data = json.dumps(arrived_json(tip, lang, services.tips.clock()), ensure_ascii=False)
                await response.write(f"event: urgent\nid: {tip.id}\ndata: {data}\n\n".encode())
                after = tip.id
            await response.write(b": ping\n\n")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), poll)
        return response
    finally:
        streams.release(staff.session_hash)
