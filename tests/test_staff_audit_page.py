"""The audit log for administrators: the `/staff/audit` page with filters (dates,
actor, action, tip) and keyset pages newest first, the same filters on the JSON API, and
the CSV download (`/api/v1/staff/audit.csv`, `/staff/audit.csv`), streamed page by page
and itself recorded as an `export`. Only administrators; nothing edits or deletes rows."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from core.categories import Category
from core.officers import Role
from hotline.bootstrap import Services
from storage.models import AuditRow
from tests.builders import submit
from tests.conftest import COMMUNE, PROVINCE, FakeClock, add_staff, staff_headers

ROW_ID = re.compile(r"<tr><td>(\d+)</td>")


async def fetch(client: Any, method: str, path: str, headers: dict[str, str], **kw: Any) -> Any:
    client.session.cookie_jar.clear()  # each request names its cookies explicitly
    return await client.request(method, path, headers=headers, allow_redirects=False, **kw)


def cookie(headers: dict[str, str]) -> dict[str, str]:
    return {"Cookie": headers["Cookie"]}


async def fill(
    services: Services, count: int, at: datetime, *, action: str = "test_fill", detail: str = ""
) -> None:
    """Entries written straight into the table (appending is all it allows)."""
    async with services.engine.begin() as conn:
        await conn.execute(
            sa.insert(AuditRow),
            [{"actor": "system", "action": action, "tip_id": None, "at": at, "detail": detail}] * count,
        )


async def actions(services: Services, action: str) -> list[tuple[str, str]]:
    async with services.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(AuditRow.actor, AuditRow.detail).where(AuditRow.action == action).order_by(AuditRow.id)
        )
        return [(r.actor, r.detail) for r in rows]


async def scenario(client: Any, services: Services, clock: FakeClock) -> tuple[dict[str, str], int, int]:
    """lan reads one tip on 2 March and another on 4 March (Viet Nam dates)."""
    first = (await submit(services.intake, category=Category.VENUE, commune_code=COMMUNE)).tip_id
    second = (await submit(services.intake, category=Category.VENUE, commune_code=COMMUNE)).tip_id
    admin = await add_staff(services, "admin", f"police:{PROVINCE}", PROVINCE, Role.ADMIN)
    lan = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    assert (await client.get(f"/api/v1/staff/tips/{first}", headers=lan)).status == 200
    clock.advance(days=2)
    lan = await staff_headers(services, "lan")
    assert (await client.get(f"/api/v1/staff/tips/{second}", headers=lan)).status == 200
    admin = await staff_headers(services, "admin")
    return admin, first, second


async def test_audit_page_filters_and_pages(client: Any, services: Services, clock: FakeClock) -> None:
    admin, first, second = await scenario(client, services, clock)
    page = await fetch(client, "GET", "/staff/audit", cookie(admin))
    html = await page.text()
    assert page.status == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Nhật ký hoạt động" in html and 'href="/staff/audit"' in html
    ids = [int(i) for i in ROW_ID.findall(html)]
    assert ids == sorted(ids, reverse=True) and len(ids) >= 6  # newest first
    assert 'href="/staff/audit.csv?"' in html

    html = await (await fetch(client, "GET", "/staff/audit?actor=lan&action=&from=", cookie(admin))).text()
    assert 'title="officer:lan">cán bộ lan</span>' in html and 'title="officer:admin"' not in html
    assert 'href="/staff/audit.csv?actor=lan"' in html  # empty fields left out
    html = await (
        await fetch(client, "GET", f"/staff/audit?action=view&tip_id={first}", cookie(admin))
    ).text()
    assert len(ROW_ID.findall(html)) == 1 and f'<a href="/staff/tips/{first}">#{first}</a>' in html
    html = await (
        await fetch(client, "GET", "/staff/audit?from=2026-03-04&to=2026-03-04&action=view", cookie(admin))
    ).text()
    assert len(ROW_ID.findall(html)) == 1 and f'href="/staff/tips/{second}"' in html
    html = await (
        await fetch(client, "GET", "/staff/audit?to=2026-03-02&actor=officer:lan", cookie(admin))
    ).text()
    assert f'href="/staff/tips/{first}"' in html and f'href="/staff/tips/{second}"' not in html

    # Keyset pages of 100: the "older" link carries the filters and the last id.
    await fill(services, 130, clock())
    html = await (await fetch(client, "GET", "/staff/audit?action=test_fill", cookie(admin))).text()
    page1 = [int(i) for i in ROW_ID.findall(html)]
    older = re.search(r'href="/staff/audit\?([^"]+)">', html)
    assert len(page1) == 100 and older
    assert older.group(1).replace("&amp;", "&") == f"action=test_fill&before={page1[-1]}"
    html = await (
        await fetch(client, "GET", f"/staff/audit?{older.group(1).replace('&amp;', '&')}", cookie(admin))
    ).text()
    page2 = [int(i) for i in ROW_ID.findall(html)]
    assert len(page2) == 30 and max(page2) < min(page1) and 'href="/staff/audit?' not in html

    for bad in ("from=2026-13-01", "tip_id=abc", "to=1900-01-01", "action=DROP%20TABLE"):
        resp = await fetch(client, "GET", f"/staff/audit?{bad}", cookie(admin))
        assert resp.status == 422, bad
        assert "Kiểm tra lại các bộ lọc này" in await resp.text()
    reads = await actions(services, "audit_read")
    assert len(reads) == 7 and {a for a, _ in reads} == {"officer:admin"}  # each read recorded


async def test_audit_is_for_admins_only(client: Any, services: Services) -> None:
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    supervisor = await add_staff(services, "minh", f"police:{PROVINCE}", PROVINCE, Role.SUPERVISOR)
    for headers in (officer, supervisor):
        for path in (
            "/staff/audit",
            "/staff/audit.csv",
            "/api/v1/staff/audit.csv",
            "/api/v1/staff/audit?actor=x",
        ):
            assert (await fetch(client, "GET", path, headers)).status == 403, path
    assert (await fetch(client, "GET", "/staff/audit", {})).status == 303
    assert (await fetch(client, "GET", "/staff/audit.csv", {})).status == 303
    assert (await fetch(client, "GET", "/api/v1/staff/audit.csv", {})).status == 401
    assert await actions(services, "export") == []
    admin = await add_staff(services, "admin", f"police:{PROVINCE}", PROVINCE, Role.ADMIN)
    # No way through the application to change or delete an entry.
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        for path in ("/api/v1/staff/audit", "/staff/audit"):
            assert (await fetch(client, method, path, admin)).status in (404, 405), (method, path)


async def test_audit_api_takes_the_same_filters(client: Any, services: Services, clock: FakeClock) -> None:
    admin, first, _ = await scenario(client, services, clock)
    body = await (await client.get("/api/v1/staff/audit?actor=lan&action=login", headers=admin)).json()
    assert [(e["actor"], e["action"]) for e in body["items"]] == [("officer:lan", "login")] * 2
    body = await (await client.get(f"/api/v1/staff/audit?tip_id={first}", headers=admin)).json()
    assert [(e["action"], e["tip_id"]) for e in body["items"]] == [("view", first)]
    body = await (
        await client.get("/api/v1/staff/audit?from=2026-03-03&action=login&limit=1", headers=admin)
    ).json()
    assert [e["actor"] for e in body["items"]] == ["officer:admin"] and body["next"] is not None
    for bad in ("from=0", "from=", "tip_id=0", "actor=", "to=2026-02-30"):
        assert (await client.get(f"/api/v1/staff/audit?{bad}", headers=admin)).status == 422, bad


async def test_audit_csv_streams_filters_and_is_audited(
    client: Any, services: Services, clock: FakeClock
) -> None:
    admin, first, second = await scenario(client, services, clock)
    await fill(services, 1, clock(), action="test_odd", detail='=HYPERLINK("http://x")')
    resp = await client.get("/api/v1/staff/audit.csv?action=view", headers=admin)
    assert resp.status == 200 and resp.content_type == "text/csv" and resp.charset == "utf-8"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="audit.csv"'
    assert resp.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert [(r["actor"], r["action"], r["tip_id"]) for r in rows] == [
        ("officer:lan", "view", str(second)),
        ("officer:lan", "view", str(first)),
    ]
    assert rows[0]["at"] == "2026-03-04T02:00:00+00:00"
    assert list(rows[0]) == ["id", "at", "actor", "action", "tip_id", "detail"]
    # A cell a spreadsheet would run as a formula stays text.
    rows = list(
        csv.DictReader(
            io.StringIO(
                await (await client.get("/api/v1/staff/audit.csv?action=test_odd", headers=admin)).text()
            )
        )
    )
    assert rows[0]["detail"] == '\'=HYPERLINK("http://x")'
    # The export is recorded first: it is in its own file when it matches.
    text = await (await client.get("/api/v1/staff/audit.csv?action=export&actor=admin", headers=admin)).text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["action"] == "export" and rows[0]["detail"] == "audit actor=admin action=export"
    assert len(rows) == 3

    # From the page, with its empty fields; a date range.
    resp = await fetch(
        client,
        "GET",
        "/staff/audit.csv?from=2026-03-02&to=2026-03-02&actor=lan&action=&tip_id=",
        cookie(admin),
    )
    assert resp.status == 200 and resp.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert {(r["actor"], r["action"]) for r in rows} == {("officer:lan", "login"), ("officer:lan", "view")}
    exports = await actions(services, "export")
    assert [d for _, d in exports] == [
        "audit action=view",
        "audit action=test_odd",
        "audit actor=admin action=export",
        "audit from=2026-03-02T00:00:00+07:00 to=2026-03-03T00:00:00+07:00 actor=lan",
    ]
    assert {a for a, _ in exports} == {"officer:admin"}

    # Thousands of entries come in pages (bounded memory), each once, newest first.
    await fill(services, 2500, clock())
    text = await (await client.get("/api/v1/staff/audit.csv?action=test_fill", headers=admin)).text()
    ids = [int(r["id"]) for r in csv.DictReader(io.StringIO(text))]
    assert len(ids) == 2500 and ids == sorted(set(ids), reverse=True)
    empty = await (await client.get("/api/v1/staff/audit.csv?action=nothing_like_this", headers=admin)).text()
    assert empty == "id,at,actor,action,tip_id,detail\r\n"
