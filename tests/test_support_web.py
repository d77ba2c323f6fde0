"""The support path over HTTP: the anonymous form with its receipt and conversation, hostile
and malformed input, the case worker's pages within their area, and 404 for the police and
another area's workers."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.officers import Role
from hotline.bootstrap import Services
from hotline.settings import Settings
from tests.conftest import COMMUNE, PROVINCE, add_staff

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
OTHER = "26740"
PHONE = "0987 654 321"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, data_dir=tmp_path / "var", province=PROVINCE, master_key="cd" * 32)


async def token(client: Any, path: str = "/support") -> str:
    found = TOKEN.search(await (await client.get(path)).text())
    assert found
    return found.group(1)


async def post(
    client: Any, path: str, fields: list[tuple[str, str]], headers: dict[str, str] | None = None
) -> Any:
    return await client.post(path, data=aiohttp.FormData(fields), headers=headers, allow_redirects=False)


async def ask(client: Any, *extra: tuple[str, str]) -> tuple[str, str]:
    csrf = await token(client)
    resp = await post(client, "/support", [("csrf_token", csrf), ("kind", "health"), ("kind", "job"), *extra])
    assert resp.status == 201, await resp.text()
    html = await resp.text()
    code = re.search(r"<dt>Mã tiếp nhận</dt><dd><code>([^<]+)</code>", html)
    phrase = re.search(r"<dt>Cụm mật khẩu</dt><dd><code>([^<]+)</code>", html)
    assert code and phrase
    return code.group(1), phrase.group(1)


async def test_the_form_is_vietnamese_and_never_names_the_person(client: Any) -> None:
    resp = await client.get("/support")
    html = await resp.text()
    assert resp.status == 200 and "Tôi cần giúp đỡ cho bản thân" in html
    assert "mại dâm" not in html.lower() and "sex" not in html.lower()
    # Only the public pages' own same-origin file (quick exit, list search); nothing inline.
    assert re.findall(r"<script[^>]*>", html.lower()) == ['<script src="/static/public.js" defer>']


async def test_ask_read_and_continue_with_receipt_and_passphrase(client: Any, services: Services) -> None:
    code, phrase = await ask(client, ("commune", COMMUNE), ("contact", PHONE), ("message", "Tôi cần tư vấn"))
    worker = await add_staff(services, "ytexa", f"commune:{COMMUNE}", COMMUNE)
    cases = await client.get("/staff/support", headers={"Cookie": worker["Cookie"]})
    html = await cases.text()
    assert cases.status == 200 and "Tìm việc làm" in html and PHONE not in html
    case_id = re.search(r'href="/staff/support/(\d+)"', html)
    assert case_id
    path = f"/staff/support/{case_id.group(1)}"
    page = await (await client.get(path, headers={"Cookie": worker["Cookie"]})).text()
    assert "Tôi cần tư vấn" in page and PHONE not in page
    shown = await post(
        client,
        path,
        [("csrf_token", worker["X-CSRF-Token"]), ("action", "contact")],
        {"Cookie": worker["Cookie"]},
    )
    assert PHONE in await shown.text()
    answered = await post(
        client,
        path,
        [("csrf_token", worker["X-CSRF-Token"]), ("action", "answer"), ("text", "Chào bạn")],
        {"Cookie": worker["Cookie"]},
    )
    assert answered.status == 303
    client.session.cookie_jar.clear()
    csrf = await token(client, "/support/status")
    resp = await post(
        client, "/support/status", [("csrf_token", csrf), ("receipt_code", code), ("passphrase", phrase)]
    )
    assert resp.status == 200 and "Chào bạn" in await resp.text()
    resp = await post(
        client,
        "/support/status",
        [("csrf_token", csrf), ("receipt_code", code), ("passphrase", phrase), ("text", "Cảm ơn")],
    )
    assert "Cảm ơn" in await resp.text()
    wrong = await post(
        client, "/support/status", [("csrf_token", csrf), ("receipt_code", code), ("passphrase", "sai")]
    )
    assert wrong.status == 404 and "Cảm ơn" not in await wrong.text()


async def test_police_and_another_area_get_404(client: Any, services: Services) -> None:
    await ask(client, ("commune", COMMUNE))
    admin = await add_staff(services, "admin", f"police:{PROVINCE}", PROVINCE, Role.ADMIN)
    html = await (await client.get("/staff/support", headers={"Cookie": admin["Cookie"]})).text()
    found = re.search(r'href="/staff/support/(\d+)"', html)
    assert found
    path = f"/staff/support/{found.group(1)}"
    police = await add_staff(services, "congan", f"police:{COMMUNE}", COMMUNE)
    other = await add_staff(services, "ytekhac", f"commune:{OTHER}", OTHER)
    for who in (police, other):
        assert (await client.get(path, headers={"Cookie": who["Cookie"]})).status == 404
        moved = await post(
            client,
            path,
            [("csrf_token", who["X-CSRF-Token"]), ("action", "move"), ("state", "closed")],
            {"Cookie": who["Cookie"]},
        )
        assert moved.status == 404
    assert (await client.get("/staff/support", headers={"Cookie": police["Cookie"]})).status == 404


@pytest.mark.parametrize(
    "fields",
    [
        [],  # no kind
        [("kind", "<script>x</script>")],
        [("kind", "health"), ("commune", "99999")],
        [("kind", "health"), ("contact", "9" * 200)],
        [("kind", "health"), ("message", "x" * 6000)],
    ],
)
async def test_bad_input_is_refused_and_nothing_is_stored(
    client: Any, services: Services, fields: list[tuple[str, str]]
) -> None:
    csrf = await token(client)
    resp = await post(client, "/support", [("csrf_token", csrf), *fields])
    assert 400 <= resp.status < 500
    assert "<script>x" not in await resp.text()
    assert (
        await services.support.cases(
            __import__("core.establishments", fromlist=["Scope"]).Scope(everything=True)
        )
        == []
    )


async def test_a_forged_token_and_a_multipart_post_are_refused(client: Any) -> None:
    await token(client)
    assert (await post(client, "/support", [("csrf_token", "x" * 43), ("kind", "health")])).status == 403
    form = aiohttp.FormData([("kind", "health")], default_to_multipart=True)
    form.add_field("file", b"x", filename="a.txt")
    assert (await client.post("/support", data=form)).status == 415


async def test_concurrent_requests_each_get_their_own_receipt(client: Any, services: Services) -> None:
    receipts = await asyncio.gather(*(ask(client) for _ in range(5)))
    assert len({code for code, _ in receipts}) == 5


async def test_the_kpi_page_offers_the_report_and_it_matches_the_indicators(
    client: Any, services: Services
) -> None:
    import io
    from datetime import date

    from openpyxl import load_workbook

    from core.kpi import Period

    await ask(client, ("commune", COMMUNE))
    worker = await add_staff(services, "ytexa", f"commune:{COMMUNE}", COMMUNE)
    headers = {"Cookie": worker["Cookie"]}
    kpi = await (await client.get("/staff/kpi?from=2026-01-01&to=2026-12-31", headers=headers)).text()
    assert 'action="/staff/report"' in kpi and '<option value="docx">' in kpi
    resp = await client.get("/staff/report?from=2026-01-01&to=2026-12-31&format=xlsx", headers=headers)
    assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
    book = load_workbook(io.BytesIO(await resp.read()))
    assert "Đơn vị: Phường Bến Thành" in [c.value for c in book["Bìa"]["A"]]
    rows = [r for r in book["01"].iter_rows(min_row=3, values_only=True)]
    expected = await services.establishments.indicators(Period(date(2026, 1, 1), date(2026, 12, 31)), COMMUNE)
    assert [(r[1], r[2]) for r in rows] == [(i.numerator, i.denominator) for i in expected]
    for bad in ("format=odt", "from=x&to=y&format=xlsx", "format=xlsx"):
        assert (await client.get(f"/staff/report?{bad}", headers=headers)).status == 400


async def test_the_directory_is_edited_in_the_workspace(client: Any, services: Services) -> None:
    worker = await add_staff(services, "ytexa", f"commune:{COMMUNE}", COMMUNE)
    headers = {"Cookie": worker["Cookie"]}
    csrf = worker["X-CSRF-Token"]
    path = "/staff/support/providers"
    added = await post(
        client,
        path,
        [("csrf_token", csrf), ("name", "Trung tâm Trợ giúp pháp lý"), ("kind", "legal"), ("free", "yes")],
        headers,
    )
    assert added.status == 303
    [provider] = await services.support.providers()
    assert provider.kinds == ("legal",) and provider.free
    changed = await post(
        client,
        path,
        [
            ("csrf_token", csrf),
            ("id", str(provider.id)),
            ("name", "Trung tâm TGPL"),
            ("kind", "legal"),
            ("kind", "counselling"),
        ],
        headers,
    )
    assert changed.status == 303
    [provider] = await services.support.providers()
    assert (
        provider.name == "Trung tâm TGPL" and provider.kinds == ("counselling", "legal") and not provider.free
    )
    bad = await post(client, path, [("csrf_token", csrf), ("name", "X"), ("kind", "<b>")], headers)
    assert bad.status == 422 and "<b>" not in await bad.text()
    missing = await post(
        client, path, [("csrf_token", csrf), ("id", "999999"), ("name", "X"), ("kind", "legal")], headers
    )
    assert missing.status == 404
    police = await add_staff(services, "congan", f"police:{COMMUNE}", COMMUNE)
    assert (await client.get(path, headers={"Cookie": police["Cookie"]})).status == 404
    assert len(await services.support.providers()) == 1
