"""The support flow in the chat channels: Telegram (buttons) and Zalo (numbered choices
typed back). The contact typed in the chat is stored only sealed, never in the chat's
state, and the receipt reads the case on the web."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.establishments import Scope
from hotline.bootstrap import open_services
from hotline.settings import Settings
from storage.db import create_engine
from tests.conftest import COMMUNE, PROVINCE, FakeClock
from tests.fakezalo import ZaloUser
from tests.telegram_harness import telegram_rig
from tests.telegram_updates import TelegramUser
from tests.zalo_harness import zalo_rig

PHONE = "0909 111 222"
ALL = Scope(everything=True)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, data_dir=tmp_path / "var", province=PROVINCE, master_key="12" * 32)


async def _everything(url: str) -> str:
    """Every text and byte value the database holds, joined: the privacy scan."""
    engine = create_engine(url)
    parts: list[str] = []
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
            for name in names:
                for row in await conn.execute(sa.text(f'SELECT * FROM "{name}"')):
                    parts.extend(
                        bytes(v).decode("latin-1") if isinstance(v, bytes | memoryview) else str(v)
                        for v in row
                    )
    finally:
        await engine.dispose()
    return "\n".join(parts)


def _receipt(text: str) -> tuple[str, str]:
    code = re.search(r"Mã tiếp nhận: (\S+)", text)
    phrase = re.search(r"Cụm mật khẩu: (.+)", text)
    assert code and phrase, text
    return code.group(1), phrase.group(1).strip()


async def test_telegram_support_flow_with_a_sealed_contact(settings: Settings, clock: FakeClock) -> None:
    user = TelegramUser()
    async with telegram_rig(settings, clock) as rig:
        await rig.send(user.command("start"))
        assert "🤝 Tôi cần giúp đỡ cho bản thân" in rig.api.sent(user.chat_id)[-1].keyboard_labels()
        await rig.send(user.text("🤝 Tôi cần giúp đỡ cho bản thân"))
        assert "need:health" in rig.api.sent(user.chat_id)[-1].button_data()
        await rig.send(user.tap("need:done"))  # nothing chosen yet: asked again
        assert "ít nhất một" in rig.api.texts(user.chat_id)[-2]
        await rig.send(user.tap("need:health"))
        await rig.send(user.tap("need:legal"))
        await rig.send(user.tap("need:done"))
        assert "sarea:skip" in rig.api.sent(user.chat_id)[-1].button_data()  # the commune, optional
        await rig.send(user.text("xyz khong co"))  # no such commune: asked again
        assert "Không tìm thấy" in rig.last_text(user.chat_id)
        await rig.send(user.text("ben   thanh"))  # no accents, no type word, odd spacing
        assert f"sarea:{COMMUNE}" in rig.api.sent(user.chat_id)[-1].button_data()
        await rig.send(user.tap("sarea:00004"))  # a commune not offered: ignored
        await rig.send(user.tap(f"sarea:{COMMUNE}"))
        assert "nocontact:skip" in rig.api.sent(user.chat_id)[-1].button_data()
        await rig.send(user.text(PHONE))
        code, phrase = _receipt(rig.last_text(user.chat_id))
    assert PHONE not in await _everything(rig.settings.effective_database_url)
    async with open_services(rig.settings, clock) as opened:  # the bot's own secret key
        page = await opened.support.read(code, phrase)
        assert page.case.kinds == ("health", "legal") and page.case.has_contact
        assert page.case.commune_code == COMMUNE  # the commune's workers see it
        assert [c.id for c in await opened.support.cases(Scope(commune_code=COMMUNE))] == [page.case.id]
        assert await opened.support.contact(page.case.id, ALL, actor="admin") == PHONE


async def test_zalo_support_flow_by_numbers_without_a_contact(settings: Settings, clock: FakeClock) -> None:
    user = ZaloUser()
    async with zalo_rig(settings, clock) as rig:
        await rig.send(user.text("xin chao"))
        await rig.send(user.text("toi can giup do"))
        options = [line for line in rig.last_text(user.chat_id).splitlines() if line[:1].isdigit()]
        job = next(o for o in options if "Tìm việc làm" in o).split(".", 1)[0]
        done = next(o for o in options if "Xong" in o).split(".", 1)[0]
        await rig.send(user.text(job))
        await rig.send(user.text(done))
        await rig.send(user.text("1"))  # skip the commune
        await rig.send(user.text("1"))  # skip the contact
        code, phrase = _receipt(rig.last_text(user.chat_id))
    async with open_services(rig.settings, clock) as opened:
        page = await opened.support.read(code, phrase)
        assert page.case.kinds == ("job",) and not page.case.has_contact
        assert page.case.commune_code is None  # the province's workers


async def test_zalo_support_flow_names_the_commune_without_accents(
    settings: Settings, clock: FakeClock
) -> None:
    user = ZaloUser()
    async with zalo_rig(settings, clock) as rig:
        await rig.send(user.text("toi can giup do"))
        options = [line for line in rig.last_text(user.chat_id).splitlines() if line[:1].isdigit()]
        health = next(o for o in options if "Xong" not in o).split(".", 1)[0]
        done = next(o for o in options if "Xong" in o).split(".", 1)[0]
        await rig.send(user.text(health))
        await rig.send(user.text(done))
        await rig.send(user.text("<b>" + "x" * 5000))  # hostile and long: no match, asked again
        assert "Không tìm thấy" in rig.last_text(user.chat_id)
        await rig.send(user.text("PHUONG BEN THANH"))
        options = [line for line in rig.last_text(user.chat_id).splitlines() if line[:1].isdigit()]
        pick = next(o for o in options if "Bến Thành" in o).split(".", 1)[0]
        await rig.send(user.text(pick))
        await rig.send(user.text("1"))  # skip the contact
        code, phrase = _receipt(rig.last_text(user.chat_id))
    async with open_services(rig.settings, clock) as opened:
        page = await opened.support.read(code, phrase)
        assert page.case.commune_code == COMMUNE
