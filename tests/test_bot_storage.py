"""Subscribers and reply-notice consents in the database: chat ids only encrypted, gone
after `/stop`, and an officer's reply announced once, without its content."""

from __future__ import annotations

import sqlalchemy as sa

from handlers.keys import SERVICES
from hotline.settings import Settings
from storage.db import create_engine
from tests.conftest import FakeClock
from tests.telegram_harness import telegram_rig
from tests.telegram_updates import TelegramUser


async def _rows(settings: Settings, table: str) -> list[dict[str, object]]:
    engine = create_engine(settings.effective_database_url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id"))
            return [dict(row._mapping) for row in result]
    finally:
        await engine.dispose()


async def test_reply_notice_reaches_a_consenting_reporter_once(settings: Settings, clock: FakeClock) -> None:
    user = TelegramUser()
    async with telegram_rig(settings, clock) as rig:
        await rig.send(user.command("start", "tip"), user.text("Quan bia X co nguoi bi ep"), user.text("Bỏ qua"))
        await rig.send(user.tap("files:done"), user.tap("danger:no"), user.tap("confirm:send"), user.tap("notify:yes"))
        notices = await _rows(rig.settings, "chat_notices")
        assert len(notices) == 1 and str(user.chat_id) not in str(notices[0])
        notifier = rig.bot.notifier
        assert notifier is not None
        assert await notifier.run_once() == 0  # nothing to announce yet

        services = rig.client.app[SERVICES]
        await services.tips.reply(int(notices[0]["tip_id"]), actor="officer:test", text="Cảm ơn, đã xác minh xong")
        assert await notifier.run_once() == 1
        assert "Bạn có trả lời mới" in rig.last_text(user.chat_id)
        assert all("xác minh xong" not in t for t in rig.api.texts(user.chat_id))  # never the content
        assert await notifier.run_once() == 0  # announced once

        await rig.send(user.command("stop"))
        assert await _rows(rig.settings, "chat_notices") == []


async def test_subscription_row_holds_only_the_encrypted_chat_id(settings: Settings, clock: FakeClock) -> None:
    user = TelegramUser()
    async with telegram_rig(settings, clock) as rig:
        await rig.send(user.command("start", "sub-worker-vi"), user.command("start", "sub-parent-en"))
        rows = await _rows(rig.settings, "chat_subscribers")
        assert len(rows) == 1  # one chat, one row: the second link changed it
        row = rows[0]
        assert row["audience"] == "parent" and row["language"] == "en" and row["active"] in (True, 1)
        assert str(user.chat_id) not in str(row)
        keys = rig.client.app[SERVICES].chat.keys
        assert keys.decrypt("telegram", str(row["chat_cipher"])) == str(user.chat_id)
        await rig.send(user.command("stop"))
        row = (await _rows(rig.settings, "chat_subscribers"))[0]
        assert row["active"] in (False, 0) and row["chat_cipher"] == ""
