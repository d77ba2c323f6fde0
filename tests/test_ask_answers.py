"""Questions answered from the knowledge base on every channel: the bot (real Update JSON
through the webhook to the fake Bot API), the web page and the JSON API; "no" or no good
match hands the question to a counsellor as an `info_request`."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from handlers.keys import SERVICES
from hotline.bootstrap import Services
from hotline.settings import Settings
from storage.models import KnowledgeFeedbackRow, TipRow
from tests.conftest import FakeClock
from tests.telegram_harness import Rig, telegram_rig
from tests.telegram_updates import TelegramUser
from tests.test_web_pages import post_form, token


def _receipt_from(text: str) -> tuple[str, str]:
    lines = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
    code = lines.get("Receipt code") or lines["Mã tiếp nhận"]
    return code, lines.get("Passphrase") or lines["Cụm mật khẩu"]


async def feedback(services: Services) -> dict[tuple[str, str], tuple[int, int]]:
    return {(c.entry_id, c.language): (c.helped, c.not_helped) for c in await services.answers.counts()}


async def info_requests(services: Services) -> list[str]:
    from tests.builders import stored_tips

    tips = await stored_tips(services.settings.effective_database_url, services.master_keys)
    return [t.text for t in tips if t.category == "info_request"]


def rig_services(rig: Rig) -> Services:
    return rig.client.server.app[SERVICES]


async def test_bot_offers_the_answer_and_counts_a_yes(settings: Settings, clock: FakeClock) -> None:
    user = TelegramUser(user_id=6_100_001)
    async with telegram_rig(settings, clock) as rig:
        await rig.send(user.text("❓ Đặt câu hỏi"), user.text("xet nghiem hiv o dau mien phi"))
        answer, helped = rig.api.sent(user.chat_id)[-2:]
        assert answer.text.startswith("Có thể câu trả lời này giúp được bạn") and "CDC" in answer.text
        assert helped.button_data() == ["kb:yes", "kb:no"]
        await rig.send(user.tap("kb:yes"))
        assert rig.last_text(user.chat_id).startswith("Cảm ơn bạn")
        services = rig_services(rig)
        assert await feedback(services) == {("hiv-test-where", "vi"): (1, 0)}
        assert await info_requests(services) == []  # nothing filed, nothing stored about the chat
        # a second tap on the same (now stale) button counts nothing
        await rig.send(user.tap("kb:yes"))
        assert await feedback(services) == {("hiv-test-where", "vi"): (1, 0)}
        async with services.engine.connect() as conn:
            columns = set((await conn.execute(sa.select(KnowledgeFeedbackRow))).keys())
        assert columns == {"entry_id", "language", "helped", "not_helped"}


async def test_bot_no_files_the_question_for_a_counsellor_whose_reply_is_delivered(
    settings: Settings, clock: FakeClock
) -> None:
    user = TelegramUser(user_id=6_100_002, language_code="en")
    async with telegram_rig(settings, clock) as rig:
        await rig.send(user.command("start", "ask"), user.text("I want to leave sex work, who can help me?"))
        assert "vocational training" in rig.api.texts(user.chat_id)[-2]
        await rig.send(user.tap("kb:no"))
        code, passphrase = _receipt_from(rig.api.texts(user.chat_id)[-2])
        assert "Your question is received" in rig.api.texts(user.chat_id)[-2]
        await rig.send(user.tap("notify:yes"))
        services = rig_services(rig)
        assert await info_requests(services) == ["I want to leave sex work, who can help me?"]
        assert await feedback(services) == {("leave-sex-work", "en"): (0, 1)}

        # The counsellor answers like any officer; the reporter gets the notice and reads it.
        async with services.engine.connect() as conn:
            tip_id = await conn.scalar(sa.select(TipRow.id).where(TipRow.category == "info_request"))
        await services.tips.reply(int(tip_id), actor="officer:counsellor", text="Xin chào, bạn ở phường nào?")
        pending = await services.chat.directory.pending_notices()
        assert [int(p.address) for p in pending] == [user.chat_id]
        await rig.send(user.text("🔎 Check my report"), user.text(code), user.text(passphrase))
        assert "bạn ở phường nào?" in rig.last_text(user.chat_id)


async def test_bot_without_a_good_match_goes_straight_to_a_counsellor(settings: Settings, clock: FakeClock) -> None:
    user = TelegramUser(user_id=6_100_003)
    async with telegram_rig(settings, clock) as rig:
        await rig.send(user.text("❓ Đặt câu hỏi"), user.text("Giá vàng hôm nay bao nhiêu?"))
        texts = rig.api.texts(user.chat_id)
        assert "chưa có câu trả lời sẵn" in texts[-3] and "Đã nhận câu hỏi" in texts[-2]
        services = rig_services(rig)
        assert await info_requests(services) == ["Giá vàng hôm nay bao nhiêu?"]
        assert await feedback(services) == {}


async def test_bot_a_new_question_instead_of_a_verdict(settings: Settings, clock: FakeClock) -> None:
    user = TelegramUser(user_id=6_100_004)
    async with telegram_rig(settings, clock) as rig:
        await rig.send(user.text("❓ Đặt câu hỏi"), user.text("tro giup phap ly mien phi"))
        assert "Trợ giúp pháp lý" in rig.api.texts(user.chat_id)[-2]
        await rig.send(user.text("con hoc nghe mien phi thi sao"))
        assert "Trung tâm dịch vụ việc làm" in rig.api.texts(user.chat_id)[-2]
        await rig.send(user.tap("kb:yes"))
        assert await feedback(rig_services(rig)) == {("vocational-training", "vi"): (1, 0)}


async def test_web_page_shows_the_answer_and_counts_helped(client: Any, services: Services) -> None:
    csrf = await token(client, "/ask")
    resp = await post_form(client, "/ask", {"csrf_token": csrf, "text": "Xét nghiệm HIV ở đâu?"})
    html = await resp.text()
    assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
    assert "Trung tâm Kiểm soát bệnh tật" in html and 'name="entry" value="hiv-test-where"' in html
    assert 'value="helped"' in html and 'value="counsellor"' in html
    assert await info_requests(services) == []
    fields = {"csrf_token": csrf, "text": "Xét nghiệm HIV ở đâu?", "entry": "hiv-test-where",
              "answer_lang": "vi", "action": "helped"}
    resp = await post_form(client, "/ask", fields)
    assert resp.status == 200 and "Cảm ơn bạn" in await resp.text()
    assert await feedback(services) == {("hiv-test-where", "vi"): (1, 0)}
    assert await info_requests(services) == []


async def test_web_page_escalates_to_a_counsellor(client: Any, services: Services) -> None:
    csrf = await token(client, "/ask")
    fields = {"csrf_token": csrf, "text": "Xét nghiệm HIV ở đâu?", "entry": "hiv-test-where",
              "answer_lang": "vi", "action": "counsellor"}
    resp = await post_form(client, "/ask", fields)
    html = await resp.text()
    assert resp.url.path == "/ask/received" and "Câu hỏi của bạn đã được tiếp nhận" in html
    assert re.search(r"<code>[0-9A-Z]{5}-[0-9A-Z]{5}</code>", html)
    assert await info_requests(services) == ["Xét nghiệm HIV ở đâu?"]
    assert await feedback(services) == {("hiv-test-where", "vi"): (0, 1)}
    # a forged entry id is filed all the same, and counts nothing
    fields |= {"entry": "no-such-entry"}
    assert (await post_form(client, "/ask", fields)).url.path == "/ask/received"
    assert await feedback(services) == {("hiv-test-where", "vi"): (0, 1)}


async def test_web_page_without_a_match_files_at_once_and_keeps_csrf(client: Any, services: Services) -> None:
    csrf = await token(client, "/ask")
    resp = await post_form(client, "/ask", {"csrf_token": csrf, "text": "Cách nấu phở bò ngon"})
    assert resp.status == 200 and resp.url.path == "/ask/received"
    assert await info_requests(services) == ["Cách nấu phở bò ngon"]
    forged = await post_form(client, "/ask", {"csrf_token": "x" * 43, "text": "Xét nghiệm HIV ở đâu?",
                                               "entry": "hiv-test-where", "answer_lang": "vi", "action": "helped"})
    assert forged.status == 403 and await feedback(services) == {}


async def test_web_page_in_english(client: Any) -> None:
    await client.get("/lang/en?next=/ask")
    csrf = await token(client, "/ask")
    resp = await post_form(client, "/ask", {"csrf_token": csrf, "text": "Where can I get free legal aid?"})
    html = await resp.text()
    assert resp.status == 200 and "State Legal Aid Centre" in html and "send my question to a counsellor" in html


async def test_api_answers_and_questions(client: Any, services: Services) -> None:
    resp = await client.post("/api/v1/answers", json={"text": "xet nghiem hiv o dau", "limit": 2})
    body = await resp.json()
    assert resp.status == 200 and body["answers"][0]["entry_id"] == "hiv-test-where"
    assert body["answers"][0]["language"] == "vi" and 0 < body["answers"][0]["coverage"] <= 1
    assert len(body["answers"]) <= 2
    empty = await (await client.post("/api/v1/answers", json={"text": "best phone under 5 million"})).json()
    assert empty == {"answers": []}
    bad = await client.post("/api/v1/answers", json={"text": "x", "limit": 9})
    assert bad.status == 422
    assert await info_requests(services) == []  # answering stores nothing
    # filing a question keeps its 201 receipt, whatever the knowledge base could say
    filed = await client.post("/api/v1/questions", json={"text": "xet nghiem hiv o dau"})
    assert filed.status == 201 and "receipt_code" in await filed.json()


async def test_the_page_and_the_bot_share_the_answers_limit(
    settings: Settings, clock: FakeClock, aiohttp_client: Any
) -> None:
    """Past `HOTLINE_ANSWERS_PER_MINUTE` the page and the bot stop consulting the knowledge
    base, like the API, and file the question for a counsellor instead: nothing is refused
    or lost, and the matcher is not spent beyond the budget."""
    from handlers.app import create_app

    client = await aiohttp_client(
        create_app(settings.model_copy(update={"answers_per_minute": 2}), clock=clock)
    )
    services = client.app[SERVICES]
    csrf = await token(client, "/ask")
    for _ in range(2):
        resp = await post_form(client, "/ask", {"csrf_token": csrf, "text": "Xét nghiệm HIV ở đâu?"})
        assert resp.status == 200 and 'name="entry" value="hiv-test-where"' in await resp.text()
    assert await info_requests(services) == []
    resp = await post_form(client, "/ask", {"csrf_token": csrf, "text": "Xét nghiệm HIV ở đâu?"})
    assert resp.url.path == "/ask/received"  # filed for a counsellor, with a receipt
    assert await info_requests(services) == ["Xét nghiệm HIV ở đâu?"]
    assert await services.answers.answer_if_allowed("Xét nghiệm HIV ở đâu?") == []  # the bot's path
