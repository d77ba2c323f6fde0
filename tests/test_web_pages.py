"""Public pages through the real app: Vietnamese and English, no JavaScript, safe by default."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from hotline.bootstrap import Services
from storage.models import AttachmentRow, TipRow
from tests.conftest import COMMUNE
from tests.test_web_api import count_rows, jpeg, stored_files

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PAGES = ["/", "/report", "/status", "/ask"]


async def token(client: Any, path: str = "/report") -> str:
    resp = await client.get(path)
    found = TOKEN.search(await resp.text())
    assert found
    return found.group(1)


async def post_form(
    client: Any,
    path: str,
    fields: dict[str, str],
    files: list[bytes] = (),  # type: ignore[assignment]
    allow_redirects: bool = True,
) -> Any:
    import io

    import aiohttp

    form = aiohttp.FormData(default_to_multipart=path != "/status")
    for key, value in fields.items():
        form.add_field(key, value)
    for data in files:
        form.add_field("files", io.BytesIO(data), filename="photo.jpg", content_type="image/jpeg")
    return await client.post(path, data=form, allow_redirects=allow_redirects)


@pytest.mark.parametrize("path", PAGES)
async def test_pages_are_small_scriptless_and_strict(client: Any, path: str) -> None:
    resp = await client.get(path)
    assert resp.status == 200
    html = await resp.text()
    assert len(html.encode()) < 100_000
    scripts = re.findall(r"<script[^>]*>", html.lower())
    assert scripts == ['<script src="/static/public.js" defer>']  # our one file, nothing inline
    assert not re.search(r"\son[a-z]+=", html) and 'style="' not in html
    # no third-party assets; the one outside link is the quick exit to a neutral site
    outside = re.findall(r'<[^>]+(?:src|href)="(?:https?:)?//[^>]*>', html)
    assert outside == [
        '<a class="quick-exit" id="quick-exit" href="https://www.google.com.vn/" rel="noreferrer">'
    ]
    assert '<meta name="viewport" content="width=device-width' in html
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "default-src 'none'" in csp and "style-src 'self'" in csp
    assert html.startswith("<!doctype html>") and 'lang="vi"' in html


async def test_vietnamese_by_default_and_a_visible_switch_to_english(client: Any) -> None:
    html = await (await client.get("/")).text()
    assert "Đường dây nóng ẩn danh" in html and 'href="/lang/en?next=/"' in html
    resp = await client.get("/lang/en?next=/report", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/report"
    html = await (await client.get("/report")).text()
    assert 'lang="en"' in html and "Send the report" in html
    resp = await client.get("/lang/en?next=https://evil.example/", allow_redirects=False)
    assert resp.headers["Location"] == "/"  # no open redirect


async def test_stylesheet_is_ours_and_small(client: Any) -> None:
    resp = await client.get("/static/style.css")
    assert resp.status == 200 and len(await resp.read()) < 10_000


async def test_report_receipt_status_and_follow_up_through_forms(client: Any, services: Services) -> None:
    csrf = await token(client)
    html = await (await client.get("/report")).text()
    assert f'value="{COMMUNE}"' in html  # the commune picker lists the province's wards
    resp = await post_form(
        client,
        "/report",
        {
            "csrf_token": csrf,
            "website": "",
            "text": "Quán karaoke <b>Hoa Hồng</b> có bán dâm",
            "commune_code": COMMUNE,
            "place": "số 5 đường X",
            "occurred_on": "2026-03-01",
            "urgent": "on",
            "category": "venue",
        },
        [jpeg()],
    )
    assert resp.status == 200 and resp.url.path == "/report/received"  # POST/redirect/GET
    assert resp.headers["Cache-Control"] == "no-store"
    html = await resp.text()
    code = re.search(r"<dt>Mã tiếp nhận</dt><dd><code>([^<]+)</code>", html)
    phrase = re.search(r"<dt>Cụm mật khẩu</dt><dd><code>([^<]+)</code>", html)
    assert code and phrase and 'href="tel:113"' in html
    assert await count_rows(services, TipRow) == 1 and await count_rows(services, AttachmentRow) == 1

    resp = await post_form(
        client, "/status", {"csrf_token": csrf, "receipt_code": code.group(1), "passphrase": phrase.group(1)}
    )
    assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
    assert "Đã tiếp nhận" in await resp.text()

    await services.tips.reply(1, actor="officer:lan", text="<script>alert('x')</script> Quán ở tầng mấy?")
    resp = await post_form(
        client,
        "/status/message",
        {"csrf_token": csrf, "receipt_code": code.group(1), "passphrase": phrase.group(1), "text": "Tầng 2"},
        [jpeg()],
    )
    assert resp.status == 200
    html = await resp.text()
    assert "&lt;script&gt;alert(" in html and "<script>" not in html  # stored XSS is escaped
    assert "Tầng 2" in html and "Tệp đính kèm: 2" in html
    assert len(stored_files(services)) == 2


async def test_question_page_files_an_info_request(client: Any, services: Services) -> None:
    csrf = await token(client, "/ask")
    resp = await post_form(client, "/ask", {"csrf_token": csrf, "text": "Luật quy định thế nào?"})
    assert resp.status == 200 and "Câu hỏi của bạn đã được tiếp nhận" in await resp.text()
    async with services.engine.connect() as conn:
        assert await conn.scalar(sa.select(TipRow.category)) == "info_request"


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"text": "no token"}, 403, "Biểu mẫu đã hết hạn"),
        ({"csrf_token": "x" * 43, "text": "forged token"}, 403, "Biểu mẫu đã hết hạn"),
        ({"website": "http://spam", "text": "bot"}, 400, "để trống"),
        ({"text": "   "}, 422, "Vui lòng viết điều đã xảy ra"),
        ({"text": "x", "commune_code": "00004"}, 422, "Không đọc được"),
        ({"text": "x", "occurred_on": "2999-01-01"}, 422, "Ngày ở mục «Khi nào?»"),  # a date to come
    ],
)
async def test_refused_forms_explain_and_store_nothing(
    client: Any, services: Services, fields: dict[str, str], status: int, message: str
) -> None:
    csrf = await token(client)
    fields = (
        {"csrf_token": csrf, **fields}
        if "csrf_token" not in fields and "no token" not in fields.get("text", "")
        else fields
    )
    resp = await post_form(client, "/report", fields)
    assert resp.status == status
    assert message in await resp.text()
    assert await count_rows(services, TipRow) == 0


async def test_wrong_receipt_on_the_status_page(client: Any) -> None:
    csrf = await token(client, "/status")
    resp = await post_form(
        client, "/status", {"csrf_token": csrf, "receipt_code": "AAAAA-AAAAA", "passphrase": "x"}
    )
    assert resp.status == 404 and "Không có tin báo nào khớp" in await resp.text()


async def test_database_failure_shows_not_saved_never_a_receipt(
    client: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    async def broken(self: Any) -> None:
        raise OperationalError("COMMIT", {}, Exception("database is locked"))

    csrf = await token(client)
    monkeypatch.setattr("storage.repositories.SqlUnitOfWork.commit", broken)
    resp = await post_form(client, "/report", {"csrf_token": csrf, "text": "quan trọng"}, [jpeg()])
    assert resp.status == 503
    html = await resp.text()
    assert "CHƯA được lưu" in html and "Mã tiếp nhận" not in html
    assert "quan trọng" in html  # the reporter's text is kept in the form for the retry
    assert stored_files(services) == []


def test_every_page_string_is_translated_into_vietnamese() -> None:
    import handlers

    root = handlers.__path__[0]
    method_map = [("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    ids = {(msg[2], msg[4]) for msg in extract_from_dir(root, method_map, options)}
    with open(f"{root}/locale/vi/LC_MESSAGES/messages.po", "rb") as fh:
        catalogue = read_po(fh)
    missing = [
        (i, context)
        for i, context in ids
        if isinstance(i, str) and not ((found := catalogue.get(i, context=context)) and found.string)
    ]
    assert ids and not missing


def catalogue_keys(text: str) -> list[tuple[str, str]]:
    """Each entry's (context, message id) as written in a .po file, continuation lines
    joined (babel's reader keeps only one of two entries with the same key)."""
    keys: list[tuple[str, str]] = []
    context, current, field = "", None, ""
    for line in [*text.splitlines(), ""]:
        if line.startswith(("msgctxt ", "msgid ", "msgstr")) or not line.strip():
            if field == "msgid" and current is not None:
                keys.append((context, current))
                context, current = "", None
            field = line.split(" ", 1)[0].split("[")[0] if line.strip() else ""
            value = line.split(" ", 1)[1][1:-1] if " " in line else ""
            if field == "msgctxt":
                context = value
            elif field == "msgid":
                current = value
        elif line.startswith('"') and field in ("msgctxt", "msgid"):
            if field == "msgctxt":
                context += line[1:-1]
            elif current is not None:
                current += line[1:-1]
    return keys


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_no_message_is_in_a_catalogue_twice(lang: str) -> None:
    """A second entry with the same text and context silently replaces the first: one
    English word used in two senses needs a context (`pgettext`) instead."""
    import handlers

    path = f"{handlers.__path__[0]}/locale/{lang}/LC_MESSAGES/messages.po"
    with open(path, encoding="utf-8") as fh:
        keys = catalogue_keys(fh.read())
    repeated = {key for key in keys if keys.count(key) > 1}
    assert len(keys) > 500 and not repeated
