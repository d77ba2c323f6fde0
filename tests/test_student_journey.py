"""Youth outreach end to end, through the real bot and the real broadcast worker: a
student subscribes from a poster's QR code, receives a campaign scheduled for later (and
not before), asks a question and gets an answer or a counsellor, and leaves with the
button under the broadcast — after which no campaign reaches them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa

from core.posters import start_parameter
from hotline.broadcast import open_broadcast
from hotline.settings import Settings
from storage.db import create_engine, session_factory
from storage.models import ChatSubscriberRow, TipRow
from storage.outreach import outreach_service
from tests.conftest import FakeClock
from tests.outreach_rig import published_pair
from tests.telegram_harness import telegram_rig
from tests.telegram_updates import TelegramUser


async def test_a_student_subscribes_receives_a_scheduled_campaign_asks_and_leaves(
    settings: Settings, clock: FakeClock
) -> None:
    student = TelegramUser(user_id=7_300_001)
    async with telegram_rig(settings, clock) as rig:
        engine = create_engine(rig.settings.effective_database_url)
        try:
            outreach = outreach_service(session_factory(engine), clock)
            # 1. The poster's QR code opens the bot with the deep link: subscribed in one step.
            await rig.send(student.command("start", start_parameter("student", "vi")))
            assert rig.last_text(student.chat_id).startswith("Đã đăng ký nhận tin dành cho học sinh")

            # 2. A campaign scheduled for tomorrow morning is not sent before its time...
            vi, _ = await published_pair(outreach)
            at = clock() + timedelta(hours=20)
            campaign = await outreach.create_campaign(vi.id, "student", by="officer:editor", at=at)
            before = len(rig.api.texts(student.chat_id))
            broadcast = {**rig.settings.model_dump(), "broadcast_poll_seconds": 0.05}
            async with open_broadcast(Settings(**broadcast), clock=clock) as worker:
                await asyncio.wait_for(worker.drain(), 20)
                assert len(rig.api.texts(student.chat_id)) == before
                # ...and is sent once it is due, in the student's language, with a way out.
                clock.advance(hours=21)
                await asyncio.wait_for(worker.drain(), 20)
            news = rig.api.sent(student.chat_id)[-1]
            assert "Tin phòng chống" in news.text and news.button_data()[-1] == "sub:off"
            assert (await outreach.progress(campaign.id)).counts == {"sent": 1}

            # 3. A question the knowledge base answers, with "did this help?".
            await rig.send(
                student.text("❓ Đặt câu hỏi"), student.text("xet nghiem hiv o dau, co mat phi khong")
            )
            answer = rig.api.texts(student.chat_id)[-2]
            assert "HIV" in answer and rig.api.sent(student.chat_id)[-1].button_data() == ["kb:yes", "kb:no"]
            # "No": the question goes to a counsellor as an information request, with a receipt.
            async with engine.connect() as conn:
                questions_before = await conn.scalar(
                    sa.select(sa.func.count()).select_from(TipRow).where(TipRow.category == "info_request")
                )
            await rig.send(student.tap("kb:no"))
            async with engine.connect() as conn:
                questions = await conn.scalar(
                    sa.select(sa.func.count()).select_from(TipRow).where(TipRow.category == "info_request")
                )
            assert questions == (questions_before or 0) + 1

            # 4. The button under the news unsubscribes; the next campaign does not reach them.
            await rig.send(student.tap("sub:off"))
            async with engine.connect() as conn:
                active = await conn.scalar(
                    sa.select(sa.func.count()).select_from(ChatSubscriberRow).where(ChatSubscriberRow.active)
                )
            assert active == 0
            other, _ = await published_pair(outreach, group="test.other")  # new content, not a repeat
            second = await outreach.create_campaign(other.id, "student", by="officer:editor")
            async with open_broadcast(Settings(**broadcast), clock=clock) as worker:
                await asyncio.wait_for(worker.drain(), 20)
            assert (await outreach.progress(second.id)).counts in ({}, {"sent": 0})
            assert sum(1 for m in rig.api.sent(student.chat_id) if "Tin phòng chống" in (m.text or "")) == 1
        finally:
            await engine.dispose()
