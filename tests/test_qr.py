"""Poster QR codes: the subscription link, the PNG `hotline qr` writes, and what scanning
it does in the bot (one step, optionally filed under a commune)."""

from __future__ import annotations

from pathlib import Path

import pytest
import segno
import sqlalchemy as sa
from PIL import Image

from core.errors import InvalidInput
from core.posters import start_parameter, subscribe_link
from handlers.keys import SERVICES
from hotline.cli import main
from hotline.settings import Settings
from storage.models import ChatSubscriberRow
from tests.conftest import COMMUNE, PROVINCE, FakeClock
from tests.telegram_harness import telegram_rig
from tests.telegram_updates import TelegramUser

SCALE, BORDER = 10, 4


def test_subscribe_link() -> None:
    assert subscribe_link("HotlineHCM_bot", "student", "vi") == "https://t.me/HotlineHCM_bot?start=sub-student-vi"
    assert subscribe_link("@HotlineHCM_bot", "service_worker", "en", "26743") == (
        "https://t.me/HotlineHCM_bot?start=sub-service_worker-en-26743"
    )
    assert len(start_parameter("service_worker", "en", "26743")) <= 64  # Telegram's limit
    for bad in (("x", "student", "vi", None), ("Hotline_bot", "teacher", "vi", None),
                ("Hotline_bot", "student", "fr", None), ("Hotline_bot", "student", "vi", "1234"),
                ("bad name!", "student", "vi", None)):
        with pytest.raises(InvalidInput):
            subscribe_link(*bad)


def read_modules(path: Path) -> list[list[bool]]:
    """The dark/light modules of a PNG written at SCALE with a BORDER, sampled at their centres."""
    image = Image.open(path)
    assert image.format == "PNG"
    gray = image.convert("L")
    size = gray.width // SCALE - 2 * BORDER
    assert gray.width == gray.height == (size + 2 * BORDER) * SCALE
    return [
        [gray.getpixel(((BORDER + x) * SCALE + SCALE // 2, (BORDER + y) * SCALE + SCALE // 2)) < 128 for x in range(size)]
        for y in range(size)
    ]


def test_cli_writes_a_png_of_the_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HOTLINE_TELEGRAM_BOT_USERNAME", "HotlineHCM_bot")
    out = tmp_path / "poster.png"
    assert main(["qr", "--audience", "student", "--lang", "vi", "--out", str(out)]) == 0
    url = capsys.readouterr().out.strip()
    assert url == "https://t.me/HotlineHCM_bot?start=sub-student-vi"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    modules = read_modules(out)
    expected = [[bool(v) for v in row] for row in segno.make(url, error="m", micro=False).matrix]
    assert modules == expected
    other = [[bool(v) for v in row] for row in segno.make(url.replace("vi", "en"), error="m").matrix]
    assert modules != other

    # the flag wins over the setting; a commune goes into the link
    assert main(["qr", "--audience", "worker", "--lang", "en", "--out", str(out),
                 "--bot-username", "Other_bot", "--commune", COMMUNE]) == 0
    assert capsys.readouterr().out.strip() == f"https://t.me/Other_bot?start=sub-worker-en-{COMMUNE}"


def test_cli_without_a_bot_name_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("HOTLINE_TELEGRAM_BOT_USERNAME", raising=False)
    assert main(["qr", "--audience", "student", "--lang", "vi", "--out", str(tmp_path / "p.png")]) == 1
    assert "--bot-username" in capsys.readouterr().err
    assert not (tmp_path / "p.png").exists()


async def subscriber_rows(settings: Settings, rig_app: object) -> list[sa.Row[tuple[object, ...]]]:
    services = rig_app[SERVICES]  # type: ignore[index]
    async with services.engine.connect() as conn:
        result = await conn.execute(
            sa.select(ChatSubscriberRow.audience, ChatSubscriberRow.language, ChatSubscriberRow.commune_code,
                      ChatSubscriberRow.province_code, ChatSubscriberRow.active).order_by(ChatSubscriberRow.id)
        )
        return list(result)


async def test_scanning_the_poster_subscribes_in_one_step(settings: Settings, clock: FakeClock) -> None:
    plain, local = TelegramUser(user_id=7_200_001), TelegramUser(user_id=7_200_002, language_code="en")
    async with telegram_rig(settings, clock) as rig:
        await rig.send(plain.command("start", start_parameter("student", "vi")))
        assert rig.last_text(plain.chat_id).startswith("Đã đăng ký nhận tin dành cho học sinh")
        await rig.send(local.command("start", start_parameter("worker", "vi", COMMUNE)))
        assert "Đã đăng ký" in rig.last_text(local.chat_id)
        await rig.send(local.command("start", "sub-worker-vi-99x99"))
        assert "không hợp lệ" in rig.last_text(local.chat_id)
        rows = await subscriber_rows(settings, rig.client.server.app)
    assert [tuple(r) for r in rows] == [
        ("student", "vi", None, None, True),
        ("worker", "vi", COMMUNE, PROVINCE, True),
    ]


async def test_the_menu_asks_an_optional_commune(settings: Settings, clock: FakeClock) -> None:
    picks, skips = TelegramUser(user_id=7_200_003), TelegramUser(user_id=7_200_004)
    async with telegram_rig(settings, clock) as rig:
        await rig.send(picks.text("📰 Tin phòng ngừa"), picks.tap("sub:student"))
        assert "xã/phường" in rig.last_text(picks.chat_id)
        await rig.send(picks.text("xyz khong co phuong nay"))
        assert "Không tìm thấy" in rig.last_text(picks.chat_id)
        await rig.send(picks.text("ben thanh"))
        offered = rig.api.sent(picks.chat_id)[-1].button_data()
        assert f"area:{COMMUNE}" in offered and offered[-1] == "area:skip"
        await rig.send(picks.tap("area:00004"))  # not offered: refused as a stale button
        assert "Menu này đã thay đổi" in rig.last_text(picks.chat_id)
        await rig.send(picks.text("📰 Tin phòng ngừa"), picks.tap("sub:student"), picks.text("ben thanh"))
        await rig.send(picks.tap(f"area:{COMMUNE}"))
        assert rig.last_text(picks.chat_id).startswith("Đã ghi nhận: Phường Bến Thành")

        await rig.send(skips.text("📰 Tin phòng ngừa"), skips.tap("sub:parent"), skips.tap("area:skip"))
        assert "tin chung của tỉnh" in rig.last_text(skips.chat_id)
        rows = await subscriber_rows(settings, rig.client.server.app)
    assert [tuple(r) for r in rows] == [
        ("student", "vi", COMMUNE, PROVINCE, True),
        ("parent", "vi", None, None, True),
    ]
