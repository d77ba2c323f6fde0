"""The report, question, status and subscription flows, end to end: real Update JSON to
the webhook, the real python-telegram-bot client answering through the fake Bot API."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from core import receipts
from hotline.settings import Settings
from tests.conftest import FakeClock
from tests.telegram_harness import jpeg_with_gps, telegram_rig
from tests.telegram_updates import TelegramUser


async def _tips(rig_settings: Settings) -> list[Any]:
    """The stored tips, opened (their texts are encrypted at rest)."""
    from hotline.masterkey import MasterKeySource
    from tests.builders import stored_tips

    return list(await stored_tips(rig_settings.effective_database_url, MasterKeySource(rig_settings)))


def _receipt_from(text: str) -> tuple[str, str]:
    lines = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
    code = lines.get("Mã tiếp nhận") or lines["Receipt code"]
    passphrase = lines.get("Cụm mật khẩu") or lines["Passphrase"]
    return code, passphrase


async def test_full_report_in_vietnamese_without_diacritics(settings: Settings, clock: FakeClock) -> None:
    user = TelegramUser()
    async with telegram_rig(settings, clock) as rig:
        rig.api.add_file("photo-1", jpeg_with_gps())
        await rig.send(user.command("start"))
        assert "ẩn danh" in rig.last_text(user.chat_id)
        menu = rig.api.sent(user.chat_id)[-1].keyboard_labels()
        assert "📝 Báo tin" in menu and "☎️ Số khẩn cấp" in menu

        await rig.send(user.text("📝 Báo tin"))
        await rig.send(user.text("Quan karaoke tren duong Le Loi co ban dam, co ca tre vi thanh nien"))
        assert "phường/xã" in rig.last_text(user.chat_id)
        await rig.send(user.text("ben thanh"))
        pick = rig.api.sent(user.chat_id)[-1]
        assert "place:26743" in pick.button_data()
        await rig.send(user.tap("place:26743"))
        await rig.send(user.photo("photo-1", size=len(jpeg_with_gps())))
        assert "1/5" in rig.last_text(user.chat_id)
        assert rig.api.calls_to("getFile") and rig.api.calls_to("download")
        await rig.send(user.tap("files:done"))
        await rig.send(user.tap("danger:yes"))
        texts = rig.api.texts(user.chat_id)
        assert "113" in texts[-2] and "111" in texts[-2]  # emergency numbers shown at once
        assert "Phường Bến Thành" in texts[-1] and "Khẩn cấp: có" in texts[-1]
        await rig.send(user.tap("confirm:send"))
        receipt_text = rig.api.texts(user.chat_id)[-2]
        code, passphrase = _receipt_from(receipt_text)
        assert receipts.normalise(code) is not None
        assert len(passphrase.split()) == 5

    tips = await _tips(rig.settings)
    assert len(tips) == 1
    from tests.builders import opened_files

    stored = opened_files(rig.settings)
    assert len(stored) == 1
    assert b"PhoneMaker" not in stored[0] and b"GPS" not in stored[0]  # EXIF gone, as on the web
    with Image.open(io.BytesIO(stored[0])) as image:
        assert not image.getexif()
    tip = tips[0]
    assert tip.channel == "telegram" and tip.urgent and tip.commune_code == "26743"
    assert "karaoke" in tip.text


async def test_report_in_english_with_shared_location_then_status(
    settings: Settings, clock: FakeClock
) -> None:
    user = TelegramUser(user_id=5550001, username="eng_user_x", first_name="Alex", language_code="en-GB")
    async with telegram_rig(settings, clock) as rig:
        await rig.send(user.command("start", "tip"))
        assert rig.last_text(user.chat_id).startswith("Describe what happened")
        await rig.send(
            user.text("A hotel on Nguyen Hue street offers girls to foreigners https://example.test/x")
        )
        await rig.send(user.location(10.776543, 106.701234))
        assert "10.78, 106.70" in rig.last_text(user.chat_id)
        await rig.send(user.tap("loc:keep"), user.tap("files:done"), user.tap("danger:no"))
        assert "Urgent: no" in rig.last_text(user.chat_id)
        await rig.send(user.tap("confirm:send"))
        code, passphrase = _receipt_from(rig.api.texts(user.chat_id)[-2])
        await rig.send(user.tap("notify:no"))

        # Check my report: code, then the passphrase, whose message is deleted.
        await rig.send(user.text("🔎 Check my report"), user.text(code))
        passphrase_update = user.text(passphrase)
        await rig.send(passphrase_update)
        deleted = rig.api.calls_to("deleteMessage", user.chat_id)
        assert [int(c.params["message_id"]) for c in deleted] == [passphrase_update["message"]["message_id"]]
        status = rig.last_text(user.chat_id)
        assert "received" in status and "No reply yet" in status
        await rig.send(user.tap("check:add"), user.text("The owner drives a white car"))
        assert rig.last_text(user.chat_id) == "Added to your report."

    tips = await _tips(rig.settings)
    assert "https://example.test/x" in str(tips[0].text)
    assert tips[0].place is not None and "10.78, 106.70" in str(tips[0].place)
    assert "10.7765" not in str(tips[0].place)  # rounded to about 1 km, not the exact point
