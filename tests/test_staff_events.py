"""The live queue over HTTP: Server-Sent Events of urgent tips arriving, only within the
officer's jurisdiction, resumable with Last-Event-ID, limited per session, ended by
signing out; and the queue page loads the script that shows them (same-origin file)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from core.categories import Category
from core.officers import Role
from handlers.staff_events import STREAMS
from hotline.bootstrap import Services
from hotline.settings import Settings
from tests.builders import submit
from tests.conftest import COMMUNE, PROVINCE, REMOTE_COMMUNE, add_staff

EVENTS = "/api/v1/staff/events"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        data_dir=tmp_path / "var",
        province=PROVINCE,
        staff_events_poll_seconds=0.1,
        staff_events_per_session=2,
    )


async def read_events(
    resp: Any, *, until_id: int | None = None, seconds: float = 3.0
) -> list[dict[str, Any]]:
    """Parse the stream for `seconds`, or until the event with `until_id` came."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    loop = asyncio.get_running_loop()
    ends = loop.time() + seconds
    while loop.time() < ends:
        try:
            raw = await asyncio.wait_for(resp.content.readline(), timeout=max(0.01, ends - loop.time()))
        except TimeoutError:
            break
        if not raw:
            break
        line = raw.decode().rstrip("\n")
        if line == "":
            if current:
                events.append(current)
                if until_id is not None and current.get("id") == str(until_id):
                    break
                if current.get("event") == "ended":
                    break
            current = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(": ")
            current[field] = value
    return events


async def test_urgent_tips_arrive_only_within_the_jurisdiction(client: Any, services: Services) -> None:
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    await submit(services.intake, urgent=True, commune_code=COMMUNE)  # before the stream: not sent
    resp = await client.get(EVENTS, headers=officer)
    assert resp.status == 200 and resp.content_type == "text/event-stream"
    assert resp.headers["Cache-Control"] == "no-store"
    elsewhere = (await submit(services.intake, urgent=True, commune_code=REMOTE_COMMUNE)).tip_id
    calm = (await submit(services.intake, commune_code=COMMUNE)).tip_id
    urgent = (await submit(services.intake, category=Category.MINOR, commune_code=COMMUNE)).tip_id
    events = await read_events(resp, until_id=urgent)
    resp.close()
    urgent_events = [e for e in events if e.get("event") == "urgent"]
    assert [int(e["id"]) for e in urgent_events] == [urgent]
    data = json.loads(urgent_events[0]["data"])
    assert data["category"] == "minor" and data["category_label"] == "Có người chưa thành niên"
    assert data["commune_code"] == COMMUNE and "text" not in data
    assert (data["badge"], data["badge_label"]) == ("on_time", "Đúng hạn")  # just arrived: 2 h to hand off
    assert str(elsewhere) not in [e.get("id") for e in events] and str(calm) not in [
        e.get("id") for e in events
    ]


async def test_a_stream_resumes_after_the_last_event_id(client: Any, services: Services) -> None:
    admin = await add_staff(services, "boss", f"police:{PROVINCE}", PROVINCE, Role.ADMIN)
    first = (await submit(services.intake, urgent=True, commune_code=COMMUNE)).tip_id
    second = (await submit(services.intake, urgent=True, commune_code=REMOTE_COMMUNE)).tip_id
    resp = await client.get(EVENTS, headers={**admin, "Last-Event-ID": str(first)})
    events = await read_events(resp, until_id=second, seconds=2)
    resp.close()
    assert [int(e["id"]) for e in events if e.get("event") == "urgent"] == [second]


async def test_streams_need_a_session_are_limited_and_end_at_sign_out(
    client: Any, services: Services
) -> None:
    assert (await client.get(EVENTS)).status == 401
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    one = await client.get(EVENTS, headers=officer)
    two = await client.get(EVENTS, headers=officer)
    assert one.status == two.status == 200
    # a third (the officer changed pages quickly): accepted, and the oldest ends instead
    three = await client.get(EVENTS, headers=officer)
    assert three.status == 200
    await read_events(one, seconds=2)
    assert await one.content.read() == b""  # the oldest stream was closed by the server
    assert client.app[STREAMS].open_streams(officer_session(client, officer)) == 2
    two.close()
    assert (await client.delete("/api/v1/staff/session", headers=officer)).status == 204
    events = await read_events(three, seconds=2)
    assert events and events[-1]["event"] == "ended"


async def test_a_stream_closed_by_the_browser_is_quiet(
    client: Any, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    with caplog.at_level(logging.DEBUG):
        for _ in range(6):  # quick page changes: open, leave, open again
            resp = await client.get(EVENTS, headers=officer)
            assert resp.status == 200
            await resp.content.readline()
            resp.close()
        session = officer_session(client, officer)
        for _ in range(50):  # the server notices each closed stream at its next write
            if client.app[STREAMS].open_streams(session) == 0:
                break
            await asyncio.sleep(0.1)
    assert client.app[STREAMS].open_streams(session) == 0
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def officer_session(client: Any, officer: dict[str, str]) -> str:
    """The session hash the server keys a signed-in officer's streams by."""
    token = officer["Cookie"].split("=", 1)[1]
    return hashlib.sha256(token.encode()).hexdigest()


async def test_the_queue_page_loads_the_live_script(client: Any, services: Services) -> None:
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    page = await client.get("/staff/", headers={"Cookie": officer["Cookie"]})
    html = await page.text()
    assert '<script src="/static/staff_queue.js" defer></script>' in html and 'data-live="1"' in html
    script = await client.get("/static/staff_queue.js")
    assert script.status == 200 and "EventSource" in await script.text()
    assert "innerHTML" not in await script.text()
