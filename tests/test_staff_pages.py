"""The staff pages: sign-in with TOTP, queue, a tip's page and its actions, the KPI table;
CSRF on every form, escaping of tip text, and jurisdiction on pages too."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from core.categories import Category
from core.officers import Role
from hotline.bootstrap import Services
from storage.models import AuditRow
from tests.builders import draft, submit
from tests.conftest import (
    ADMIN_PASSWORD,
    COMMUNE,
    PROVINCE,
    REMOTE_COMMUNE,
    FakeClock,
    add_staff,
    totp_code,
)

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


async def fetch(client: Any, method: str, path: str, headers: dict[str, str], **kw: Any) -> Any:
    client.session.cookie_jar.clear()  # each request names its cookies explicitly
    return await client.request(method, path, headers=headers, allow_redirects=False, **kw)


def form(headers: dict[str, str], **fields: str) -> dict[str, str]:
    return {"csrf_token": headers["X-CSRF-Token"], **fields}


def cookie(headers: dict[str, str]) -> dict[str, str]:
    return {"Cookie": headers["Cookie"]}


async def test_sign_in_page_with_totp(client: Any, services: Services, clock: FakeClock) -> None:
    resp = await fetch(client, "GET", "/staff/", {})
    assert resp.status == 303 and resp.headers["Location"] == "/staff/login"
    await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    page = await fetch(client, "GET", "/staff/login", {})
    assert page.status == 200
    token = page.cookies["csrf"].value
    assert f'value="{token}"' in await page.text()
    fields = {"csrf_token": token, "username": "lan", "password": ADMIN_PASSWORD}
    headers = {"Cookie": f"csrf={token}"}
    resp = await fetch(client, "POST", "/staff/login", headers, data={**fields, "otp": "000000"})
    assert resp.status == 401
    assert "Sai tên đăng nhập, mật khẩu hoặc mã một lần." in await resp.text()
    resp = await fetch(client, "POST", "/staff/login", {}, data={**fields, "otp": totp_code(services)})
    assert resp.status == 403  # no CSRF cookie to match the field
    clock.advance(seconds=30)
    resp = await fetch(client, "POST", "/staff/login", headers, data={**fields, "otp": totp_code(services)})
    assert resp.status == 303 and resp.headers["Location"] == "/staff/"
    assert "HttpOnly" in resp.headers["Set-Cookie"] and "SameSite=Strict" in resp.headers["Set-Cookie"]
    session = {"Cookie": f"hotline_staff={resp.cookies['hotline_staff'].value}"}
    assert (await fetch(client, "GET", "/staff/", session)).status == 200


async def test_queue_and_tip_pages_escape_tip_text(client: Any, services: Services) -> None:
    tip_id = (await submit(services.intake, text=XSS, urgent=True)).tip_id
    admin = await add_staff(services, "admin", f"police:{PROVINCE}", PROVINCE, Role.ADMIN)
    queue = await fetch(client, "GET", "/staff/", cookie(admin))
    html = await queue.text()
    assert f'href="/staff/tips/{tip_id}"' in html and "Đúng hạn" in html
    assert "02/03/2026 09:00" in html  # received at 02:00 UTC, shown in Viet Nam time
    # The queue loads our own script file (live urgent tips): same origin only, never inline.
    csp = queue.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe" not in csp and "default-src 'none'" in csp
    assert "<script>" not in html and '<script src="/static/' in html
    page = await fetch(client, "GET", f"/staff/tips/{tip_id}", cookie(admin))
    html = await page.text()
    assert page.status == 200 and page.headers["Cache-Control"] == "no-store"
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    # Only our own same-origin file (the referral list's search box): nothing inline.
    assert re.findall(r"<script[^>]*>", html.lower()) == ['<script src="/static/public.js" defer>']
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp and "connect-src" not in csp


async def test_every_action_from_the_tip_page(client: Any, services: Services) -> None:
    receipt = await services.intake.submit(draft(commune_code=COMMUNE, category=Category.VENUE))
    tip_id = receipt.tip_id
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    base = f"/staff/tips/{tip_id}"

    async def post(action: str, **fields: str) -> Any:
        return await fetch(client, "POST", f"{base}/{action}", cookie(officer), data=form(officer, **fields))

    resp = await fetch(client, "POST", f"{base}/transition", cookie(officer), data={"to": "verified"})
    assert resp.status == 403  # no CSRF token in the form
    resp = await post("transition", to="processed")
    assert resp.status == 409
    assert "không thực hiện được ở giai đoạn hiện tại" in await resp.text()  # explained in words
    resp = await post("transition", to="verified", expected_stage="received")
    assert resp.status == 303 and resp.headers["Location"] == base
    resp = await post("transition", to="classified", category="online", urgent="false")
    assert resp.status == 303
    resp = await post("extend", reason="cần xác minh thêm nhân chứng")
    assert resp.status == 303
    resp = await post("reply", text="Cảm ơn, chúng tôi đang xác minh.")
    assert resp.status == 303
    resp = await post("transition", to="processed", reason="xử phạt hành chính")
    assert resp.status == 303
    tip, history = await services.tips.view(tip_id, "officer:test")
    assert tip.stage.value == "processed" and tip.category is Category.ONLINE and tip.extensions == 1
    assert [h.actor for h in history][1:] == ["officer:lan"] * 4
    status = await services.reporters.status(receipt.receipt_code, receipt.passphrase)
    assert [m.text for m in status.messages] == ["Cảm ơn, chúng tôi đang xác minh."]
    page = await (await fetch(client, "GET", base, cookie(officer))).text()
    assert "Cảm ơn, chúng tôi đang xác minh." in page and "xử phạt hành chính" in page
    # Close exits and referral from the page too.
    other = (await submit(services.intake, category=Category.VENUE, commune_code=COMMUNE)).tip_id
    resp = await fetch(
        client,
        "POST",
        f"/staff/tips/{other}/transition",
        cookie(officer),
        data=form(officer, to="duplicate", duplicate_of=str(tip_id), reason="same venue"),
    )
    assert resp.status == 303
    resp = await fetch(
        client, "POST", f"/staff/tips/{other}/transition", cookie(officer), data=form(officer, to="spam")
    )
    assert resp.status == 409  # already closed as a duplicate


async def test_pages_respect_jurisdiction_and_audit_reads(client: Any, services: Services) -> None:
    theirs = (await submit(services.intake, category=Category.VENUE, commune_code=REMOTE_COMMUNE)).tip_id
    ours = (await submit(services.intake, category=Category.VENUE, commune_code=COMMUNE)).tip_id
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    assert (await fetch(client, "GET", f"/staff/tips/{theirs}", cookie(officer))).status == 404
    resp = await fetch(
        client, "POST", f"/staff/tips/{theirs}/reply", cookie(officer), data=form(officer, text="x")
    )
    assert resp.status == 404
    html = await (await fetch(client, "GET", "/staff/", cookie(officer))).text()
    assert f"/staff/tips/{ours}" in html and f'/staff/tips/{theirs}"' not in html
    await fetch(client, "GET", f"/staff/tips/{ours}", cookie(officer))
    async with services.engine.connect() as conn:
        views = (
            await conn.execute(sa.select(AuditRow.actor, AuditRow.tip_id).where(AuditRow.action == "view"))
        ).all()
    assert [tuple(v) for v in views] == [("officer:lan", ours)]


async def test_kpi_page_and_sign_out(client: Any, services: Services) -> None:
    await submit(services.intake, category=Category.VENUE, commune_code=COMMUNE)
    await submit(services.intake, category=Category.VENUE, commune_code=REMOTE_COMMUNE)
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    resp = await fetch(client, "GET", "/staff/kpi?from=2026-03-01&to=2026-03-31", cookie(officer))
    assert resp.status == 200
    html = await resp.text()
    assert re.search(r"Tiếp nhận: 1 ·", html)  # only the tip of the officer's commune
    resp = await fetch(client, "POST", "/staff/logout", cookie(officer), data=form(officer))
    assert resp.status == 303 and resp.headers["Location"] == "/staff/login"
    assert (await fetch(client, "GET", "/staff/", cookie(officer))).status == 303


async def test_queue_page_pages_on_with_the_filters_kept(client: Any, services: Services) -> None:
    for _ in range(3):
        await submit(services.intake, text="Quán A & B có bán dâm")
    admin = await add_staff(services, "admin", f"police:{PROVINCE}", PROVINCE, Role.ADMIN)
    html = await (await fetch(client, "GET", "/staff/?q=a+%26+b&limit=2", cookie(admin))).text()
    link = re.search(r'href="/staff/\?([^"]+)"', html)
    assert link is not None
    query = link.group(1).replace("&amp;", "&")
    assert "q=a+%26+b" in query and "limit=2" in query and "next=" in query
    html = await (await fetch(client, "GET", f"/staff/?{query}", cookie(admin))).text()
    assert html.count('href="/staff/tips/') == 1
