"""Helpers for the outreach and broadcast tests and the benchmark: subscribers written in
bulk (encrypted like the bot writes them), a published vi/en pair, a database opened."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from core.chat.identity import ChatKeys
from core.outreach.content import ContentDraft, ContentItem
from core.outreach.service import OutreachService
from core.services import utc_now
from storage.db import create_engine, session_factory
from storage.models import ChatSubscriberRow, OutreachDeliveryRow
from storage.outreach import outreach_service

SECRET_KEY = "k" * 40
TOKEN = "123456:TEST-token"


@asynccontextmanager
async def open_outreach(db_url: str) -> AsyncIterator[tuple[OutreachService, Any]]:
    engine = create_engine(db_url)
    try:
        sessions = session_factory(engine)
        yield outreach_service(sessions, utc_now), sessions
    finally:
        await engine.dispose()


async def add_subscribers(
    sessions: Any,
    keys: ChatKeys,
    chat_ids: Sequence[int | str],
    *,
    audience: str = "student",
    language: str | Sequence[str] = "vi",
    channel: str = "telegram",
) -> None:
    """Insert subscribers directly (the bot's subscribe path has its own tests)."""
    now = datetime.now(UTC)
    rows = [
        {
            "channel": channel,
            "chat_hash": keys.chat_key(channel, str(chat)),
            "chat_cipher": keys.encrypt(channel, str(chat)),
            "audience": audience,
            "language": language if isinstance(language, str) else language[i % len(language)],
            "active": True,
            "subscribed_at": now,
        }
        for i, chat in enumerate(chat_ids)
    ]
    async with sessions() as session:
        for start in range(0, len(rows), 1000):
            await session.execute(sa.insert(ChatSubscriberRow), rows[start : start + 1000])
        await session.commit()


async def published_pair(service: OutreachService, group: str = "test.pair") -> tuple[ContentItem, ContentItem]:
    by = "officer:editor"
    vi = await service.create_item(
        ContentDraft("student", "vi", "<b>Tin phòng chống</b> số 1", group=group, link="https://example.vn/a"),
        by=by,
    )
    en = await service.create_item(ContentDraft("student", "en", "<b>Prevention news</b> no. 1", group=group), by=by)
    for item in (vi, en):
        await service.review_item(item.id, by="officer:reviewer")
        await service.publish_item(item.id, by="officer:reviewer")
    return await service.get_item(vi.id), await service.get_item(en.id)


async def delivery_states(sessions: Any, campaign_id: int) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(
            sa.select(OutreachDeliveryRow.state, sa.func.count())
            .where(OutreachDeliveryRow.campaign_id == campaign_id)
            .group_by(OutreachDeliveryRow.state)
        )
        return {state: int(n) for state, n in rows.all()}


def sliding_max(times: Sequence[float], window: float = 1.0) -> int:
    """The most events in any window of `window` seconds (the windows slide)."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def until(check: Any, *, timeout: float = 30.0, every: float = 0.05) -> None:  # noqa: ASYNC109
    """Wait until `check()` (sync or async) is true; TimeoutError after `timeout`."""
    import asyncio
    import inspect

    async with asyncio.timeout(timeout):
        while True:
            result = check()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return
            await asyncio.sleep(every)
