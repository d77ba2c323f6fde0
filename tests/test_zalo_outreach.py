"""Campaigns over Zalo and Telegram together: one delivery row per subscriber, each
channel's worker at its own rate with its own errors (blocked → unsubscribed, 429 →
everyone waits), nobody reached twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiohttp.test_utils import TestServer

from channels.zalo.sender import plain_text
from core.chat.identity import ChatKeys
from core.outreach.campaigns import CampaignState
from core.outreach.content import ContentItem, ItemState, Step
from hotline.broadcast import open_broadcast, open_zalo_broadcast
from hotline.settings import Settings
from storage.models import ChatSubscriberRow, OutreachDeliveryRow
from tests.fakebotapi import FakeBotApi
from tests.fakezalo import FakeZalo
from tests.outreach_rig import SECRET_KEY, TOKEN, add_subscribers, open_outreach, published_pair

KEYS = ChatKeys(SECRET_KEY.encode())


def _settings(db_url: str, tmp_path: Path, telegram_root: str, zalo_root: str, **overrides: Any) -> Settings:
    fields: dict[str, Any] = {
        "database_url": db_url,
        "data_dir": tmp_path / "var",
        "province": "79",
        "telegram_token": TOKEN,
        "telegram_api_url": telegram_root,
        "zalo_token": FakeZalo().token,
        "zalo_api_url": zalo_root,
        "secret_key": SECRET_KEY,
        "broadcast_poll_seconds": 0.1,
        "telegram_rate": 200,
        "zalo_rate": 200,
    }
    fields.update(overrides)
    return Settings(**fields)


async def _serve(app: Any) -> tuple[TestServer, str]:
    server = TestServer(app)
    await server.start_server()
    return server, str(server.make_url("")).rstrip("/")


async def test_one_campaign_reaches_telegram_and_zalo_subscribers_once_each(
    db_url: str, tmp_path: Path
) -> None:
    tg, zalo = FakeBotApi(), FakeZalo()
    zalo_chats = [f"zchat{i:015d}" for i in range(60)]
    blocked = set(zalo_chats[::10])
    zalo.blocked |= blocked
    zalo.throttle_next(3)
    tg_server, tg_root = await _serve(tg.app())
    z_server, z_root = await _serve(zalo.app())
    try:
        async with open_outreach(db_url) as (service, sessions):
            await add_subscribers(sessions, KEYS, range(700_000_000, 700_000_040))
            await add_subscribers(sessions, KEYS, zalo_chats, channel="zalo", language=["vi", "en"])
            await add_subscribers(sessions, KEYS, ["zparent000000001"], channel="zalo", audience="parent")
            vi, _ = await published_pair(service)
            campaign = await service.create_campaign(vi.id, "student", by="officer:editor")
            settings = _settings(db_url, tmp_path, tg_root, z_root)
            async with open_broadcast(settings) as one, open_zalo_broadcast(settings) as two:
                await asyncio.wait_for(asyncio.gather(one.drain(), two.drain()), 60)
            progress = await service.progress(campaign.id)
            async with sessions() as session:
                rows = (
                    await session.execute(
                        sa.select(ChatSubscriberRow.channel, sa.func.count())
                        .join(OutreachDeliveryRow, OutreachDeliveryRow.subscriber_id == ChatSubscriberRow.id)
                        .group_by(ChatSubscriberRow.channel)
                    )
                ).all()
                active = set(
                    await session.scalars(
                        sa.select(ChatSubscriberRow.chat_hash).where(ChatSubscriberRow.active.is_(True))
                    )
                )
    finally:
        await tg_server.close()
        await z_server.close()

    assert dict(rows) == {"telegram": 40, "zalo": 60}, "one delivery row per subscriber, per channel"
    tg_got = Counter(c.chat_id for c in tg.calls if c.method == "sendMessage" and c.status == 200)
    z_got = Counter(c.chat_id for c in zalo.sent())
    assert sorted(tg_got) == list(range(700_000_000, 700_000_040)) and set(tg_got.values()) == {1}
    assert sorted(z_got) == sorted(c for c in zalo_chats if c not in blocked) and set(z_got.values()) == {1}
    assert "zparent000000001" not in z_got
    assert len(zalo.refused) >= 3 + len(blocked), "429s were waited out and resent"
    assert progress.campaign.state == CampaignState.DONE
    assert progress.counts == {"sent": 40 + 60 - len(blocked), "blocked": len(blocked)}
    assert all(KEYS.chat_key("zalo", c) not in active for c in blocked)
    # Plain text for Zalo: no HTML, the link, and how to unsubscribe by typing.
    first = zalo.sent(zalo_chats[2])[0].text
    assert "<b>" not in first and "Tin phòng chống" in first and "hủy đăng ký" in first


def test_plain_text_of_an_item() -> None:
    item = ContentItem(
        id=1,
        group="g",
        audience="student",
        language="vi",
        title="t",
        text="<b>Cảnh giác</b> &amp; an toàn",
        image=None,
        link="https://example.vn/a",
        state=ItemState.PUBLISHED,
        created=Step("officer:a", datetime.now(UTC)),
    )
    text = plain_text(item)
    assert text.startswith("Cảnh giác & an toàn") and "https://example.vn/a" in text and "hủy đăng ký" in text
