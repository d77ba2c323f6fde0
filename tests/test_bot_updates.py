"""Everything else Telegram sends: each answered 200 at the webhook and handled as the
issue says. Real Update JSON, the real PTB client, the fake Bot API."""

from __future__ import annotations

import json

from hotline.settings import Settings
from tests.conftest import FakeClock
from tests.telegram_harness import telegram_rig, tiny_pdf
from tests.telegram_updates import (
    TelegramUser,
    added_to_group,
    channel_post,
    group_message,
    unknown_update_type,
)


async def test_webhook_secret_json_and_redelivery(settings: Settings, clock: FakeClock) -> None:
    user = TelegramUser()
    async with telegram_rig(settings, clock) as rig:
        start = user.command("start")
        assert await rig.post(start, secret=None) == 403
        assert await rig.post(start, secret="wrong-secret") == 403
        await rig.bot.drain()
        assert rig.api.sent() == []  # nothing processed

        bad = await rig.client.post(
            "/telegram/webhook",
            data=b"{not json",
            headers={"X-Telegram-Bot-Api-Secret-Token": rig.settings.telegram_webhook_secret or ""},
        )
        assert bad.status == 400
        assert await rig.post({"no_update_id": True}) == 400

        assert await rig.post(start) == 200
        assert await rig.post(start) == 200  # Telegram redelivers: acknowledged, not handled again
        await rig.bot.drain()
        assert len(rig.api.sent(user.chat_id)) == 1
        assert rig.bot.duplicates == 1


async def test_ignored_updates_are_acknowledged_and_nothing_is_sent(
    settings: Settings, clock: FakeClock
) -> None:
    user = TelegramUser()
    a_bot = TelegramUser(user_id=6660001, username="other_bot", first_name="Spam", is_bot=True)
    async with telegram_rig(settings, clock) as rig:
        await rig.send(
            channel_post("Tin kênh"),
            user.edited("sửa lại tin nhắn"),
            user.reaction(),
            a_bot.text("I am a bot"),
            unknown_update_type(),
        )
        assert rig.api.sent() == []
        assert rig.bot.counters.get("errors", 0) == 0


async def test_groups_get_one_pointer_and_the_bot_leaves_groups(settings: Settings, clock: FakeClock) -> None:
    user = TelegramUser()
    async with telegram_rig(settings, clock) as rig:
        await rig.send(group_message(user, "Quán X ở phường Bến Thành có bán dâm"))
        sent = rig.api.sent()
        assert len(sent) == 1 and sent[0].chat_id == -100_555_000_111
        assert "riêng" in sent[0].text
        await rig.send(added_to_group(user))
        assert [int(c.params["chat_id"]) for c in rig.api.calls_to("leaveChat")] == [-100_555_000_222]
        # Nothing of the group conversation reached any store.
        assert rig.bot.counters.get("handled", 0) == 0


async def test_contact_voice_sticker_and_unknown_button(settings: Settings, clock: FakeClock) -> None:
    user = TelegramUser(language_code="en")
    async with telegram_rig(settings, clock) as rig:
        await rig.send(user.contact())
        assert "do not store phone numbers" in rig.last_text(user.chat_id)
        await rig.send(user.voice())
        assert "voice can identify you" in rig.last_text(user.chat_id)
        await rig.send(user.sticker())
        assert "understands text, photos and PDF" in rig.last_text(user.chat_id)
        await rig.send(user.tap("campaign:2024-old-button"))
        answers = rig.api.calls_to("answerCallbackQuery")
        assert len(answers) == 1 and "menu has changed" in answers[0].params["text"]
        assert "menu has changed" in rig.last_text(user.chat_id)


async def test_free_text_outside_a_flow_asks_report_or_question(settings: Settings, clock: FakeClock) -> None:
    user = TelegramUser()
    async with telegram_rig(settings, clock) as rig:
        await rig.send(user.text("cho em hoi lam sao de biet viec lam o nuoc ngoai la lua dao?"))
        last = rig.api.sent(user.chat_id)[-1]
        assert last.text == "Đây là tin báo hay câu hỏi?"
        assert last.button_data() == ["intent:report", "intent:ask"]
        await rig.send(user.tap("intent:ask"))
        # the knowledge base answers first (tests/test_ask_answers.py); "no" files the question
        assert rig.api.sent(user.chat_id)[-1].button_data() == ["kb:yes", "kb:no"]
        await rig.send(user.tap("kb:no"))
        assert "Đã nhận câu hỏi" in rig.api.texts(user.chat_id)[-2]
        # the same stale button again: the menu has changed
        await rig.send(user.tap("intent:ask"))
        assert "Menu này đã thay đổi" in rig.last_text(user.chat_id)


async def test_subscribe_by_deep_link_language_and_stop(settings: Settings, clock: FakeClock) -> None:
    user = TelegramUser(language_code="vi")
    async with telegram_rig(settings, clock) as rig:
        await rig.send(user.command("start", "sub-student-en"))
        assert rig.last_text(user.chat_id).startswith("Subscribed to news for students (English)")
        await rig.send(user.text("📰 Prevention news"))
        assert "You receive news for students" in rig.last_text(user.chat_id)
        await rig.send(user.command("language"), user.tap("lang:vi"))
        assert rig.last_text(user.chat_id) == "Đã chuyển sang tiếng Việt."
        await rig.send(user.command("start", "sub-nobody-xx"))
        assert "không hợp lệ" in rig.last_text(user.chat_id)
        await rig.send(user.command("stop"))
        stop = rig.api.sent(user.chat_id)[-1]
        assert "xóa" in stop.text and stop.markup.get("remove_keyboard") is True
        await rig.send(user.text("📰 Tin phòng ngừa"))
        assert "Bạn muốn nhận tin phòng ngừa dành cho ai?" in rig.last_text(user.chat_id)


async def test_blocking_the_bot_unsubscribes(settings: Settings, clock: FakeClock) -> None:
    user = TelegramUser()
    async with telegram_rig(settings, clock) as rig:
        await rig.send(user.command("start", "sub-worker-vi"))
        await rig.send(user.membership("member", "kicked"))
        assert rig.bot.counters["blocked"] == 1
        await rig.send(user.text("📰 Tin phòng ngừa"))
        assert "dành cho ai" in rig.last_text(user.chat_id)  # no subscription left


async def test_pdf_accepted_and_a_fake_pdf_refused(settings: Settings, clock: FakeClock) -> None:
    user = TelegramUser(language_code="en")
    async with telegram_rig(settings, clock) as rig:
        rig.api.add_file("doc-ok", tiny_pdf())
        rig.api.add_file("doc-exe", b"MZ\x90\x00 this is a program, not a PDF")
        await rig.send(user.command("start", "tip"), user.text("Evidence attached"), user.text("Skip"))
        await rig.send(user.document("doc-exe", 40, name="evidence.pdf"))
        assert "not accepted" in rig.last_text(user.chat_id)
        await rig.send(user.document("doc-ok", len(tiny_pdf())))
        assert "File 1/5 received" in rig.last_text(user.chat_id)
        await rig.send(user.document("doc-big", 50 * 1024 * 1024))
        assert "not accepted" in rig.last_text(user.chat_id)
        assert json.dumps([c.params for c in rig.api.calls_to("getFile")]).count("doc-big") == 0


async def test_subscribe_from_the_menu_and_unsubscribe_with_the_button(settings: Settings, clock: FakeClock) -> None:
    user = TelegramUser()
    async with telegram_rig(settings, clock) as rig:
        await rig.send(user.text("📰 Tin phòng ngừa"))
        offered = rig.api.sent(user.chat_id)[-1].button_data()
        assert offered == ["sub:student", "sub:worker", "sub:service_worker", "sub:parent", "sub:general"]
        await rig.send(user.tap("sub:service_worker"))
        assert "người làm dịch vụ (Tiếng Việt)" in rig.api.texts(user.chat_id)[-2]
        assert rig.api.sent(user.chat_id)[-1].button_data() == ["area:skip"]  # optional commune
        await rig.send(user.text("📰 Tin phòng ngừa"))
        assert rig.api.sent(user.chat_id)[-1].button_data() == ["sub:off"]
        await rig.send(user.tap("sub:off"))
        assert rig.last_text(user.chat_id) == "Đã hủy đăng ký nhận tin."
