"""Live queue: urgent tips arriving, as Server-Sent Events.

`GET /api/v1/staff/events` streams `event: urgent` messages, one per new urgent tip within
the officer's jurisdiction (`id:` is the tip id, so a reconnecting EventSource resumes from
`Last-Event-ID`), and a comment line as a heartbeat. The database is polled every
`HOTLINE_STAFF_EVENTS_POLL_SECONDS` (core/live.py); the session is re-checked at each poll
without counting as activity, so signing out (anywhere) or going idle ends the stream.
A stream lasts at most `MAX_STREAM_SECONDS`; the browser reconnects by itself.

Leaving the page closes the stream: that is normal, so it ends quietly (no error logged,
no 500). A session keeps at most `HOTLINE_STAFF_EVENTS_PER_SESSION` streams in a worker;
a new one ends the session's oldest instead of being refused, because an officer changing
pages quickly opens the next stream before the server has noticed the last one closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from datetime import datetime
from typing import Any

from aiohttp import web

from core.live import ArrivedTip
from core.queue import deadline_badge
from core.staff import StaffContext
from handlers import staff_names
from handlers.i18n import language, vn_time
from handlers.keys import SERVICES, SETTINGS
from handlers.labels import badge_label, category_label, stage_label
from handlers.staff_api import NO_STORE, require_staff
from handlers.staff_openapi import EventsQuery, StaffRoutes

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
api_routes = StaffRoutes(routes)


class SessionStreams:
    """The open streams of each staff session in this worker, oldest first; opening one
    more than `per_session` tells the oldest to end (its officer has moved on)."""

    def __init__(self, per_session: int) -> None:
        self.per_session = per_session
        self._open: dict[str, list[asyncio.Event]] = {}

    def open(self, session_hash: str) -> asyncio.Event:
        """A new stream's 'superseded' flag; the oldest beyond the limit are flagged now."""
        streams = self._open.setdefault(session_hash, [])
        while len(streams) >= self.per_session:
            streams.pop(0).set()
        superseded = asyncio.Event()
        streams.append(superseded)
        return superseded

    def close(self, session_hash: str, superseded: asyncio.Event) -> None:
        streams = self._open.get(session_hash, [])
        if superseded in streams:
            streams.remove(superseded)
        if not streams:
            self._open.pop(session_hash, None)

    def open_streams(self, session_hash: str) -> int:
        return len(self._open.get(session_hash, []))


STREAMS = web.AppKey("staff_streams", SessionStreams)
STOPPING = web.AppKey("staff_streams_stopping", asyncio.Event)
MAX_STREAM_SECONDS = 600
BATCH = 20


def setup(app: web.Application) -> None:
    app[STREAMS] = SessionStreams(app[SETTINGS].staff_events_per_session)
    app[STOPPING] = asyncio.Event()

    async def stop_streams(app: web.Application) -> None:
        """Shutting down: end every stream now rather than after the server's timeout."""
        app[STOPPING].set()

    app.on_shutdown.append(stop_streams)
    app.add_routes(routes)


def arrived_json(tip: ArrivedTip, lang: str, now: datetime, place: str = "") -> dict[str, Any]:
    badge = deadline_badge(tip.next_due_at, None, now).value
    return {
        "id": tip.id,
        "stage": tip.stage.value,
        "stage_label": stage_label(lang, tip.stage.value),
        "category": tip.category.value if tip.category else None,
        "category_label": category_label(lang, tip.category.value if tip.category else None),
        "urgent": tip.urgent,
        "commune_code": tip.commune_code,
        "place": place or tip.commune_code,
        "received_at": tip.received_at.isoformat(),
        "received": vn_time(tip.received_at),
        "deadline": vn_time(tip.next_due_at),
        "badge": badge,
        "badge_label": badge_label(lang, badge),
    }


def start_after(request: web.Request) -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.query.get("after", "")
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


@api_routes.get(
    "/api/v1/staff/events",
    "Urgent tips as they arrive (Server-Sent Events)",
    ok=(200, "An event stream", "text/event-stream"),
    query=EventsQuery,
    errors=(401, 429),
)
async def events(request: web.Request) -> web.StreamResponse:
    """Urgent tips as they arrive, within the officer's jurisdiction only."""
    staff = await require_staff(request)
    services = request.app[SERVICES]
    streams = request.app[STREAMS]
    superseded = streams.open(staff.session_hash)
    response: web.StreamResponse | None = None
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
        return await _stream(request, response, staff, after, superseded)
    except ConnectionResetError:
        # The browser left the page or closed the tab: a normal end, nothing to report.
        log.debug("live stream closed by the browser")
        return response if response is not None and response.prepared else web.Response(status=204)
    finally:
        streams.close(staff.session_hash, superseded)


async def _stream(
    request: web.Request,
    response: web.StreamResponse,
    staff: StaffContext,
    after: int,
    superseded: asyncio.Event,
) -> web.StreamResponse:
    """Write the events until the stream's time is up, the server stops, the session
    ends or a newer stream of the same session takes its place."""
    services = request.app[SERVICES]
    lang = language(request)
    poll = request.app[SETTINGS].staff_events_poll_seconds
    await response.write(f"retry: {int(poll * 1000)}\n: live\n\n".encode())
    ends = time.monotonic() + MAX_STREAM_SECONDS
    stopping = request.app[STOPPING]
    while time.monotonic() < ends and not stopping.is_set() and not superseded.is_set():
        if not await services.staff.still_signed_in(staff):
            await response.write(b"event: ended\ndata: {}\n\n")
            break
        for tip in await services.live.urgent_after(staff.jurisdiction, after, BATCH):
            place = (await staff_names.names(request)).place(tip.commune_code)
            data = json.dumps(arrived_json(tip, lang, services.tips.clock(), place), ensure_ascii=False)
            await response.write(f"event: urgent\nid: {tip.id}\ndata: {data}\n\n".encode())
            after = tip.id
        await response.write(b": ping\n\n")
        await _pause(poll, stopping, superseded)
    return response


async def _pause(seconds: float, *events: asyncio.Event) -> None:
    """Sleep for `seconds` or until one of `events` is set, whichever comes first."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
