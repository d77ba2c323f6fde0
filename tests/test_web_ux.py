"""Public pages as a frightened citizen uses them: a refresh never files twice, times in
Viet Nam's time, errors that help, communes in Vietnamese order."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import pytest

from core.collation import clean_name, vietnamese_key
from core.jurisdiction import Jurisdiction
from handlers import receipt_once
from hotline.bootstrap import Services
from storage.models import TipRow
from tests.conftest import FakeClock
from tests.test_web_api import count_rows
from tests.test_web_pages import post_form, token

CODE = re.compile(r"<dt>Mã tiếp nhận</dt><dd><code>([^<]+)</code>")
PHRASE = re.compile(r"<dt>Cụm mật khẩu</dt><dd><code>([^<]+)</code>")


async def test_a_refresh_of_the_receipt_never_files_the_report_twice(client: Any, services: Services) -> None:
    csrf = await token(client)
    resp = await post_form(client, "/report", {"csrf_token": csrf, "text": "Quán X có bán dâm"})
    assert [r.status for r in resp.history] == [303] and resp.url.path == "/report/received"
    html = await resp.text()
    shown = PHRASE.search(html)
    assert CODE.search(html) and shown
    set_cookie = resp.history[0].headers["Set-Cookie"]
    assert (
        "HttpOnly" in set_cookie and "Path=/report/received" in set_cookie and "SameSite=Strict" in set_cookie
    )
    # the passphrase is not in the cookie as text, nor in the redirect's address
    assert shown.group(1) not in set_cookie and "?" not in resp.history[0].headers["Location"]
    for _ in range(3):  # refresh, refresh, come back later
        again = await client.get("/report/received")
        text = await again.text()
        assert again.status == 200 and not PHRASE.search(text) and "đã được hiện một lần" in text
        assert 'href="/status"' in text and again.headers["Cache-Control"] == "no-store"
    assert await count_rows(services, TipRow) == 1


async def test_a_question_is_shown_once_too(client: Any, services: Services) -> None:
    csrf = await token(client, "/ask")
    resp = await post_form(client, "/ask", {"csrf_token": csrf, "text": "Luật quy định thế nào?"})
    assert resp.url.path == "/ask/received" and PHRASE.search(await resp.text())
    again = await (await client.get("/ask/received")).text()
    assert "Câu hỏi của bạn đã được tiếp nhận" in again and not PHRASE.search(again)
    assert await count_rows(services, TipRow) == 1


@pytest.mark.parametrize("value", ["", "x", "A" * 3000, "é" * 40, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="])
async def test_a_forged_or_mangled_receipt_cookie_shows_nothing(client: Any, value: str) -> None:
    client.session.cookie_jar.update_cookies({receipt_once.COOKIE: value})
    resp = await client.get("/report/received")
    assert resp.status == 200 and not PHRASE.search(await resp.text())


def test_the_sealed_receipt_is_bound_to_its_page_key_and_lifetime(clock: FakeClock) -> None:
    key, other = bytes(32), bytes([1]) * 32
    once = receipt_once.OnceReceipt("ABCDE-12345", "ba con mèo", urgent=True, question=False)
    sealed = receipt_once.seal(key, once, "/report/received", clock())
    assert receipt_once.unseal(key, sealed, "/report/received", clock()) == once
    assert receipt_once.unseal(key, sealed, "/ask/received", clock()) is None  # another page
    assert receipt_once.unseal(other, sealed, "/report/received", clock()) is None  # another key
    later = clock() + timedelta(seconds=receipt_once.LIFETIME_SECONDS + 1)
    assert receipt_once.unseal(key, sealed, "/report/received", later) is None  # too old
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    assert receipt_once.unseal(key, tampered, "/report/received", clock()) is None


async def test_an_expired_receipt_cookie_is_not_shown(client: Any, clock: FakeClock) -> None:
    csrf = await token(client)
    resp = await post_form(client, "/report", {"csrf_token": csrf, "text": "Quán X"}, allow_redirects=False)
    assert resp.status == 303
    clock.advance(seconds=receipt_once.LIFETIME_SECONDS + 5)
    assert not PHRASE.search(await (await client.get("/report/received")).text())


async def test_the_status_page_shows_times_in_viet_nam(
    client: Any, services: Services, clock: FakeClock
) -> None:
    csrf = await token(client)
    resp = await post_form(client, "/report", {"csrf_token": csrf, "text": "Quán X"})
    html = await resp.text()
    code, phrase = CODE.search(html).group(1), PHRASE.search(html).group(1)  # type: ignore[union-attr]
    clock.now = clock.now.replace(hour=21, minute=9)  # 21:09 UTC is 04:09 next day in Viet Nam
    await services.tips.reply(1, actor="officer:lan", text="Quán ở tầng mấy?")
    resp = await post_form(
        client, "/status", {"csrf_token": csrf, "receipt_code": code, "passphrase": phrase}
    )
    html = await resp.text()
    assert "03/03/2026 04:09" in html and "UTC" not in html and "21:09" not in html


async def test_a_mistyped_address_gets_a_page_in_the_visitors_language(client: Any) -> None:
    resp = await client.get("/repotr", headers={"Accept": "text/html"})
    html = await resp.text()
    assert resp.status == 404 and resp.content_type == "text/html"
    assert "Không tìm thấy trang" in html and 'lang="vi"' in html and "error" not in html.split("<main>")[1]
    client.session.cookie_jar.update_cookies({"lang": "en"})
    html = await (await client.get("/no/such/page")).text()
    assert "Page not found" in html and 'lang="en"' in html


async def test_the_api_keeps_json_errors(client: Any) -> None:
    resp = await client.get("/api/v1/no-such-thing", headers={"Accept": "text/html"})
    assert resp.status == 404 and resp.content_type == "application/json"
    assert (await resp.json())["error"]["code"] == "not_found"


async def test_a_failure_after_the_report_was_stored_says_it_was_received(
    client: Any, services: Services, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the redirect could not be built")

    csrf = await token(client)
    monkeypatch.setattr(receipt_once, "redirect_with", broken)
    with caplog.at_level(logging.ERROR):
        resp = await post_form(client, "/report", {"csrf_token": csrf, "text": "Quán X"})
    html = await resp.text()
    assert resp.status == 500 and resp.content_type == "text/html"
    assert "ĐÃ được tiếp nhận" in html and "Đừng gửi lại" in html
    assert await count_rows(services, TipRow) == 1


async def test_a_failure_before_the_report_was_stored_says_to_send_again(
    client: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("intake failed")

    csrf = await token(client)
    monkeypatch.setattr(type(services.reporters), "report", broken)
    resp = await post_form(client, "/report", {"csrf_token": csrf, "text": "Quán X"})
    html = await resp.text()
    assert resp.status == 500 and "CHƯA được tiếp nhận" in html and "113" in html
    assert await count_rows(services, TipRow) == 0


async def test_the_report_form_for_a_phone(client: Any) -> None:
    html = await (await client.get("/report")).text()
    assert 'href="tel:113"' in html and 'href="tel:111"' in html and 'class="call"' in html
    assert 'id="quick-exit"' in html and 'type="radio"' in html  # categories as a readable list
    names = re.findall(r'<option value="\d{5}"[^>]*>([^<]+)</option>', html)
    assert names and names == sorted(names, key=vietnamese_key)
    assert all("  " not in n and n == n.strip() for n in names)
    assert 'max="2026-03-02"' in html  # no day to come in the date picker (Viet Nam's today)
    favicon = await client.get("/favicon.ico")
    assert favicon.status == 200 and (await favicon.read())[:4] == b"\x00\x00\x01\x00"


def test_vietnamese_order_puts_d_stroke_after_d_and_tones_last() -> None:
    names = ["Đông Hòa", "Dĩ An", "Ân Thi", "An Phú", "Ăn Hải", "Bình Dương", "Đà Lạt", "Dầu Tiếng", "Á", "A"]
    assert sorted(names, key=vietnamese_key) == [
        "A",
        "Á",
        "An Phú",
        "Ăn Hải",
        "Ân Thi",
        "Bình Dương",
        "Dầu Tiếng",
        "Dĩ An",
        "Đà Lạt",
        "Đông Hòa",
    ]
    assert clean_name("  Phường   Bến  Thành ") == "Phường Bến Thành"


def test_a_channel_preview_keeps_only_telegrams_tags_and_escapes_the_rest() -> None:
    from handlers.previews import preview

    hostile = '<b>Đậm</b> <script>alert(1)</script> <a href="javascript:alert(1)">x</a> <a href="https://a.vn">y</a> <i>'
    telegram = str(preview(hostile, formatted=True))
    assert telegram.startswith("<b>Đậm</b>") and "<script" not in telegram and "javascript" not in telegram
    assert '<a href="https://a.vn" rel="noopener noreferrer">y</a>' in telegram and telegram.endswith(
        "<i></i>"
    )
    assert str(preview("<b>A</b> & <i>B</i>", formatted=False)) == "A &amp; B"


async def test_the_queue_search_finds_the_place_as_well_as_the_text(services: Services) -> None:
    from core.queue import QueueFilter
    from tests.builders import draft

    by_place = await services.intake.submit(draft("Có hoạt động đáng ngờ", place="Khách sạn Sao Mai, số 5"))
    by_text = await services.intake.submit(draft("Khách sạn Sao Mai có môi giới"))
    await services.intake.submit(draft("Không liên quan", place="Quán cà phê"))
    found = await services.tips.queue(Jurisdiction(everything=True), QueueFilter(text="Sao Mai"))
    assert {item.id for item in found.items} == {by_place.tip_id, by_text.tip_id}
    found = await services.tips.queue(
        Jurisdiction(everything=True), QueueFilter(text="100%_")
    )  # LIKE wildcards are text
    assert not found.items


async def test_the_queue_shows_triages_proposal_until_an_officer_classifies(
    client: Any, services: Services
) -> None:
    from core.categories import Category
    from core.queue import QueueFilter
    from core.stages import Stage
    from tests.builders import draft, move
    from tests.conftest import COMMUNE, add_staff

    receipt = await services.intake.submit(
        draft("Có bé gái 14 tuổi bị ép bán dâm ở nhà nghỉ", commune_code=COMMUNE)
    )
    item = (await services.tips.queue(Jurisdiction(everything=True), QueueFilter())).items[0]
    assert item.proposed_category is Category.MINOR and item.category is None
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    html = await (await client.get("/staff/", headers={"Cookie": officer["Cookie"]})).text()
    assert "(đề xuất)" in html
    await services.tips.transition(receipt.tip_id, move(Stage.VERIFIED))
    await services.tips.transition(receipt.tip_id, move(Stage.CLASSIFIED, category=Category.VENUE))
    html = await (await client.get("/staff/", headers={"Cookie": officer["Cookie"]})).text()
    assert "(đề xuất)" not in html
