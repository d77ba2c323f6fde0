"""Zalo end to end: real webhook bodies to POST /zalo/webhook, the bot answering through
the fake platform over HTTP, the database and files checked afterwards."""

from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa
from PIL import Image

from hotline.bootstrap import Services
from hotline.settings import Settings
from storage.db import create_engine
from tests.conftest import FakeClock
from tests.fakezalo import ZaloUser
from tests.telegram_harness import jpeg_with_gps
from tests.zalo_harness import zalo_rig


async def _rows(settings: Settings, sql: str) -> list[dict[str, object]]:
    engine = create_engine(settings.effective_database_url)
    try:
        async with engine.connect() as conn:
            return [dict(r._mapping) for r in await conn.execute(sa.text(sql))]
    finally:
        await engine.dispose()


async def _opened(settings: Settings) -> list[dict[str, object]]:
    """The stored tips, opened (their texts are encrypted at rest)."""
    from hotline.masterkey import MasterKeySource
    from tests.builders import stored_tips

    tips = await stored_tips(settings.effective_database_url, MasterKeySource(settings))
    return [
        {"id": t.id, "text": t.text, "channel": t.channel.value, "commune_code": t.commune_code} for t in tips
    ]


def _receipt(text: str) -> tuple[str, str]:
    lines = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
    code = lines.get("Mã tiếp nhận") or lines["Receipt code"]
    return code, lines.get("Cụm mật khẩu") or lines["Passphrase"]


def _numbered(text: str) -> list[str]:
    return [line for line in text.splitlines() if line[:1].isdigit() and ". " in line]


async def test_typed_report_in_unaccented_vietnamese_with_a_photo(
    settings: Settings, clock: FakeClock, services: Services
) -> None:
    user = ZaloUser()
    async with zalo_rig(settings, clock) as rig:
        rig.api.media["gps.jpg"] = jpeg_with_gps()
        await rig.send(user.text("xin chao"))
        await rig.send(user.text("bao tin"))
        assert rig.last_text(user.chat_id)  # asked what happened
        await rig.send(user.text("Quan karaoke tren duong Le Loi co ban dam, co ca tre vi thanh nien"))
        await rig.send(user.text("ben thanh"))
        options = _numbered(rig.last_text(user.chat_id))
        assert any("Bến Thành" in o for o in options), options
        pick = next(o for o in options if "Bến Thành" in o).split(".", 1)[0]
        await rig.send(user.text(pick))
        await rig.send(user.photo(rig.media_url("gps.jpg")))
        assert "1/5" in rig.last_text(user.chat_id)
        await rig.send(user.text("xong"))
        # A stray text at a choice step keeps the draft and asks again.
        await rig.send(user.text("toi khong biet"))
        assert "giữ nguyên" in rig.api.texts(user.chat_id)[-2]
        await rig.send(user.text("khong"))
        summary = rig.last_text(user.chat_id)
        assert "karaoke" in summary and "Bến Thành" in summary
        await rig.send(user.text("gui"))
        code, passphrase = _receipt(rig.api.texts(user.chat_id)[-2])
        await rig.send(user.text("1"))  # yes, notify me
        tips = await _opened(rig.settings)
        assert len(tips) == 1 and tips[0]["channel"] == "zalo" and tips[0]["commune_code"] == "26743"
        from tests.builders import opened_files

        files = opened_files(rig.settings)
        assert files, "the photo was stored"
        for data in files:
            with Image.open(io.BytesIO(data)) as image:
                assert not image.getexif(), "EXIF (and GPS) removed"

        # An officer replies: the person is told (a neutral notice), then reads it by typing.
        await services.tips.reply(
            int(str(tips[0]["id"])), actor="officer:test", text="Cảm ơn, đã xác minh xong"
        )
        assert rig.bot.notifier is not None and await rig.bot.notifier.run_once() == 1
        assert rig.last_text(user.chat_id).startswith("Bạn có trả lời mới")
        await rig.send(user.text("tra cuu"))
        await rig.send(user.text(code))
        await rig.send(user.text(passphrase))
        status = rig.last_text(user.chat_id)
        assert "đã xác minh xong" in status
        # ...and leaves.
        await rig.send(user.text("/stop"))
        assert await _rows(rig.settings, "SELECT * FROM chat_notices") == []


async def test_typed_report_in_english(settings: Settings, clock: FakeClock) -> None:
    user = ZaloUser(chat_id="a1b2c3d4e5f6a7b8c9d0")
    async with zalo_rig(settings, clock) as rig:
        await rig.send(user.text("/language"))
        options = _numbered(rig.last_text(user.chat_id))
        assert len(options) == 2
        await rig.send(user.text("2"))
        assert rig.last_text(user.chat_id).startswith("Switched to English")
        await rig.send(user.text("/report"))
        await rig.send(user.text("A man sells girls at the bus station every night"))
        await rig.send(user.text("skip"))
        await rig.send(user.text("done"))
        await rig.send(user.text("no"))
        await rig.send(user.text("Send"))
        code, _ = _receipt(rig.api.texts(user.chat_id)[-2])
        assert code
        await rig.send(user.text("No"))
        tips = [{"text": t["text"], "channel": t["channel"]} for t in await _opened(rig.settings)]
        assert tips == [{"text": "A man sells girls at the bus station every night", "channel": "zalo"}]


async def test_webhook_refuses_wrong_secret_and_malformed_bodies(
    settings: Settings, clock: FakeClock
) -> None:
    user = ZaloUser()
    async with zalo_rig(settings, clock) as rig:
        assert await rig.post(user.text("hi"), secret=None) == 403
        assert await rig.post(user.text("hi"), secret="wrong-secret-value") == 403
        headers = {"X-Bot-Api-Secret-Token": "zalo-webhook-secret-123"}
        for body in (
            b"not json",
            b"[1, 2]",
            b'{"ok": true}',
            b'{"ok": true, "result": {"event_name": "message.text.received", "message": {"chat": {}}}}',
            b"[" * 20_000 + b"]" * 20_000,
            b'{"update_id": ' + b"9" * 5000 + b"}",
            b'{"a": ' * 5000 + b"1" + b"}" * 5000,
            "\udcff".encode("utf-8", "surrogatepass"),
        ):
            response = await rig.client.post("/zalo/webhook", data=body, headers=headers)
            assert response.status == 400, (body[:30], response.status)
        await rig.bot.drain()
        assert rig.api.sent() == []


async def test_bare_inner_object_is_accepted(settings: Settings, clock: FakeClock) -> None:
    user = ZaloUser()
    async with zalo_rig(settings, clock) as rig:
        await rig.send(user.text("/help", wrapped=False))
        assert "/cancel" in rig.last_text(user.chat_id)


async def test_redelivered_message_id_is_handled_once(settings: Settings, clock: FakeClock) -> None:
    user = ZaloUser()
    async with zalo_rig(settings, clock) as rig:
        event = user.text("bao tin")
        await rig.send(event)
        await rig.send(event)
        await rig.send(json.loads(json.dumps(event)))
        assert len(rig.api.sent(user.chat_id)) == 1
        assert rig.bot.duplicates == 2


async def test_sticker_voice_unsupported_group_and_bot_events(settings: Settings, clock: FakeClock) -> None:
    user = ZaloUser()
    async with zalo_rig(settings, clock) as rig:
        await rig.send(user.event("message.sticker.received", sticker="abc"))
        assert "chữ" in rig.last_text(user.chat_id)
        await rig.send(user.event("message.voice.received", voice_url="https://v.zdn.vn/x.aac"))
        assert "giọng nói" in rig.last_text(user.chat_id)
        await rig.send(user.event("message.unsupported.received"))
        last = rig.last_text(user.chat_id)
        assert "https://tinbao.example.gov.vn" in last and "113" in last and "111" in last
        group = "group-0001"
        await rig.send(user.text("hello group", chat_type="GROUP", chat_id=group))
        await rig.send(user.text("again", chat_type="GROUP", chat_id=group))
        assert len(rig.api.sent(group)) == 1 and "riêng" in rig.last_text(group)
        before = len(rig.api.sent())
        await rig.send(user.text("from a bot", is_bot=True))
        await rig.send(user.event("message.location.received"))
        assert len(rig.api.sent()) == before


async def test_unsupported_event_to_a_chat_that_cannot_be_answered_is_quiet(
    settings: Settings, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    user = ZaloUser()
    async with zalo_rig(settings, clock) as rig:
        rig.api.blocked.add(user.chat_id)
        await rig.send(user.event("message.unsupported.received"))
        assert rig.api.sent() == [] and len(rig.api.refused) == 1
        assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_photos_only_from_allowed_hosts_and_under_the_size_limit(
    settings: Settings, clock: FakeClock
) -> None:
    user = ZaloUser()
    async with zalo_rig(settings, clock, max_file_bytes=2048) as rig:
        rig.api.media["big.jpg"] = b"\xff\xd8" + b"0" * 10_000
        await rig.send(
            user.text("bao tin"), user.text("Co nguoi bi ep ban dam o khu tro"), user.text("bo qua")
        )
        for url in (
            "http://169.254.169.254/latest/meta-data",
            "https://evil.example/photo.jpg",
            "https://zdn.vn.evil.example/p.jpg",
            "file:///etc/passwd",
            rig.media_url("big.jpg"),
        ):
            await rig.send(user.photo(url))
            assert "1/5" not in rig.last_text(user.chat_id)
        assert rig.api.media_hits == 1  # only the allowed host was ever asked


async def test_long_replies_are_split_under_2000_characters(settings: Settings, clock: FakeClock) -> None:
    user = ZaloUser()
    async with zalo_rig(settings, clock) as rig:
        long_text = ("Dòng số {} của một câu trả lời rất dài, có *sao* và <b>thẻ</b>.\n" * 120).format(
            *range(120)
        )
        await rig.bot.send_text(user.chat_id, long_text)
        sent = rig.api.texts(user.chat_id)
        assert len(sent) >= 3 and all(len(t) <= 2000 for t in sent) and rig.api.refused == []
        assert "".join(sent).replace("\n", "") == long_text.replace("\n", "")
        assert all("parse_mode" not in c.params for c in rig.api.sent(user.chat_id))


async def test_429_is_waited_out_and_the_reply_arrives(settings: Settings, clock: FakeClock) -> None:
    user = ZaloUser()
    async with zalo_rig(settings, clock) as rig:
        rig.bot._sleep = _no_sleep
        rig.api.throttle_next(2)
        await rig.send(user.text("/help"))
        assert len(rig.api.refused) == 2 and "/cancel" in rig.last_text(user.chat_id)


async def _no_sleep(seconds: float) -> None:
    return None


async def test_blocked_chat_is_unsubscribed(settings: Settings, clock: FakeClock) -> None:
    user = ZaloUser()
    async with zalo_rig(settings, clock) as rig:
        await rig.send(user.text("dang ky hoc sinh"))
        assert "học sinh" in rig.api.texts(user.chat_id)[0]
        rows = await _rows(rig.settings, "SELECT channel, audience, active FROM chat_subscribers")
        assert [(r["channel"], r["audience"], bool(r["active"])) for r in rows] == [("zalo", "student", True)]
        rig.api.blocked.add(user.chat_id)
        await rig.send(user.text("/help"))
        rows = await _rows(rig.settings, "SELECT active FROM chat_subscribers")
        assert rows and not rows[0]["active"]


async def test_stop_forgets_the_chat(settings: Settings, clock: FakeClock) -> None:
    user = ZaloUser()
    async with zalo_rig(settings, clock) as rig:
        await rig.send(user.text("/subscribe parents"))
        await rig.send(user.text("/stop"))
        rows = await _rows(rig.settings, "SELECT active FROM chat_subscribers")
        assert rows and all(not r["active"] for r in rows)
