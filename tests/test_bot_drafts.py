"""A report's draft survives text typed where a choice is expected, on Telegram: the step
is asked again and the tip is stored with what was first written."""

from __future__ import annotations

from hotline.settings import Settings
from tests.conftest import FakeClock
from tests.telegram_harness import telegram_rig
from tests.telegram_updates import TelegramUser


async def test_typing_at_files_danger_and_confirm_keeps_the_draft(
    settings: Settings, clock: FakeClock
) -> None:
    user = TelegramUser()
    async with telegram_rig(settings, clock) as rig:
        await rig.send(user.command("start", "tip"))
        await rig.send(user.text("Co nguoi ep ban dam o nha nghi gan cho"))
        await rig.send(user.text("Bỏ qua"))
        await rig.send(user.text("ảnh đâu rồi?"))  # at the files step
        assert "giữ nguyên" in rig.api.texts(user.chat_id)[-2]
        assert rig.api.sent(user.chat_id)[-1].button_data() == ["files:done"]
        await rig.send(user.tap("files:done"))
        await rig.send(user.text("không chắc"))  # at the danger step
        assert rig.api.sent(user.chat_id)[-1].button_data() == ["danger:yes", "danger:no"]
        await rig.send(user.tap("danger:no"))
        await rig.send(user.text("gửi đi"))  # at the confirm step
        summary = rig.last_text(user.chat_id)
        assert "nha nghi gan cho" in summary
        await rig.send(user.text("Gửi"))  # the button's word, typed
        assert "Mã" in "\n".join(rig.api.texts(user.chat_id)[-2:])
