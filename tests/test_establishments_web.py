"""The establishments register over HTTP: the staff API and pages, scoped by jurisdiction
(another commune's establishment is 404 on every read and write), malformed, oversize,
hostile and concurrent input, tip links from the tip page, hotspots and the KPI indicators."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import sqlalchemy as sa

from core.categories import Category
from core.establishments import EstablishmentDraft, Kind, Scope
from core.officers import Role
from hotline.bootstrap import Services
from storage.models import AuditRow
from tests.builders import draft
from tests.conftest import COMMUNE, PROVINCE, add_staff

OTHER = "26740"  # Phường Sài Gòn
API = "/api/v1/staff/establishments"
XSS = '<script>alert("x")</script>'


async def fetch(client: Any, method: str, path: str, headers: dict[str, str], **kw: Any) -> Any:
    client.session.cookie_jar.clear()
    return await client.request(method, path, headers=headers, allow_redirects=False, **kw)


def form(headers: dict[str, str], **fields: str) -> dict[str, str]:
    return {"csrf_token": headers["X-CSRF-Token"], **fields}


def cookie(headers: dict[str, str]) -> dict[str, str]:
    return {"Cookie": headers["Cookie"]}


async def seed(services: Services) -> tuple[int, int]:
    est = services.establishments
    province = Scope(province_code=PROVINCE)
    mine = await est.add(
        EstablishmentDraft("Karaoke Hoa Hồng", Kind.KARAOKE, "12 Lê Lợi", COMMUNE),
        province,
        actor="officer:seed",
    )
    theirs = await est.add(
        EstablishmentDraft("Bar Moonlight", Kind.BAR, "5 Đồng Khởi", OTHER), province, actor="officer:seed"
    )
    return mine, theirs


async def audited(services: Services, action: str) -> int:
    async with services.engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).where(AuditRow.action == action)) or 0)


async def test_api_reads_and_writes_within_the_commune(client: Any, services: Services) -> None:
    mine, theirs = await seed(services)
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    resp = await fetch(client, "GET", API, cookie(officer))
    assert resp.status == 200
    assert [e["id"] for e in (await resp.json())["items"]] == [mine]  # never the other commune's
    resp = await fetch(client, "GET", f"{API}?commune={OTHER}", cookie(officer))
    assert (await resp.json())["items"] == []
    resp = await fetch(client, "GET", f"{API}?q=KARAOKE%20hoa%20hong&due=1&kind=karaoke", cookie(officer))
    body = await resp.json()
    assert [e["id"] for e in body["items"]] == [mine] and body["items"][0]["due"] is True

    for method, path, kw in [
        ("GET", f"{API}/{theirs}", {}),
        ("POST", f"{API}/{theirs}/inspections", {"json": {"date": "2026-03-01", "outcome": "no_violation"}}),
        ("GET", f"{API}/999999", {}),
        ("GET", f"{API}/abc", {}),
        ("GET", f"{API}/99999999999999999999999", {}),
    ]:
        resp = await fetch(client, method, path, officer, **kw)
        assert resp.status == 404, (method, path)

    resp = await fetch(
        client,
        "POST",
        f"{API}/{mine}/inspections",
        officer,
        json={
            "date": "2026-03-01",
            "outcome": "violation",
            "violation": "không đăng ký lưu trú",
            "fine_vnd": 7500000,
            "team": "Công an phường, Văn hóa",
        },
    )
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["fine_vnd"] == 7500000
    resp = await fetch(client, "GET", f"{API}/{mine}", cookie(officer))
    body = await resp.json()
    assert body["last_inspected"] == "2026-03-01" and body["due"] is False
    assert [i["outcome"] for i in body["inspections"]] == ["violation"]
    assert [h["action"] for h in body["history"]] == ["created", "inspected"]

    resp = await fetch(
        client,
        "POST",
        API,
        officer,
        json={
            "name": "Nhà nghỉ Ánh Dương",
            "kind": "guesthouse",
            "address": "3 Lê Lai",
            "commune_code": COMMUNE,
            "commitment_date": "2026-02-01",
        },
    )
    assert resp.status == 201 and resp.headers["Location"].startswith(API)
    resp = await fetch(client, "POST", API, officer, json={"name": "X", "kind": "bar", "commune_code": OTHER})
    assert resp.status == 422  # not the officer's commune
    assert await audited(services, "establishment_view") == 1
    assert await audited(services, "inspection_add") == 1
    assert await audited(services, "establishment_add") == 3  # two seeded, one through the API


async def test_api_refuses_bad_input_and_losing_nothing(client: Any, services: Services) -> None:
    mine, _ = await seed(services)
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    assert (await fetch(client, "GET", API, {})).status == 401
    no_csrf = cookie(officer)
    assert (
        await fetch(client, "POST", API, no_csrf, json={"name": "A", "kind": "bar", "commune_code": COMMUNE})
    ).status == 403
    cases: list[tuple[dict[str, Any], int]] = [
        ({"data": "{not json", "headers": {"Content-Type": "application/json"}}, 400),
        ({"json": ["a list"]}, 400),
        ({"data": "name=A", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415),
        ({"json": {"name": "", "kind": "bar", "commune_code": COMMUNE}}, 422),
        ({"json": {"name": "A" * 201, "kind": "bar", "commune_code": COMMUNE}}, 422),
        ({"json": {"name": "A", "kind": "casino", "commune_code": COMMUNE}}, 422),
        ({"json": {"name": "A", "kind": "bar", "commune_code": "'; DROP TABLE establishments;--"}}, 422),
        ({"json": {"name": "A", "kind": "bar", "commune_code": COMMUNE, "surprise": 1}}, 422),
        ({"json": {"name": "A\x00B", "kind": "bar", "commune_code": COMMUNE}}, 422),
        (
            {"data": io.BytesIO(b"x" * (3 * 1024 * 1024)), "headers": {"Content-Type": "application/json"}},
            413,
        ),
    ]
    for kw, status in cases:
        kw.setdefault("headers", {})
        kw["headers"] = {**officer, **kw["headers"]}
        resp = await client.request("POST", API, allow_redirects=False, **kw)
        assert resp.status == status, (kw.get("json"), await resp.text())
    for body, status in [
        ({"date": "2099-01-01", "outcome": "no_violation"}, 422),
        ({"date": "yesterday", "outcome": "no_violation"}, 422),
        ({"date": "2026-03-01", "outcome": "maybe"}, 422),
        ({"date": "2026-03-01", "outcome": "no_violation", "fine_vnd": 5}, 422),
        ({"date": "2026-03-01", "outcome": "violation", "fine_vnd": -5}, 422),
        ({"date": "2026-03-01", "outcome": "violation", "notes": "n" * 4001}, 422),
    ]:
        resp = await fetch(client, "POST", f"{API}/{mine}/inspections", officer, json=body)
        assert resp.status == status, body
    for query in ("due=maybe&limit=0", "commune=abc", "kind=casino", "after=-1", f"q={'x' * 201}"):
        assert (await fetch(client, "GET", f"{API}?{query}", cookie(officer))).status in (200, 400, 422)
    # Hostile text is stored as text and shown escaped.
    resp = await fetch(
        client, "POST", API, officer, json={"name": XSS, "kind": "bar", "commune_code": COMMUNE}
    )
    assert resp.status == 201
    page = await (await fetch(client, "GET", "/staff/establishments", cookie(officer))).text()
    assert XSS not in page and "&lt;script&gt;" in page
    # Ten inspections at once: all recorded.
    results = await asyncio.gather(
        *(
            fetch(
                client,
                "POST",
                f"{API}/{mine}/inspections",
                officer,
                json={"date": f"2026-02-{day:02d}", "outcome": "no_violation"},
            )
            for day in range(1, 11)
        )
    )
    assert [r.status for r in results] == [201] * 10
    body = await (await fetch(client, "GET", f"{API}/{mine}", cookie(officer))).json()
    assert len(body["inspections"]) == 10 and body["last_inspected"] == "2026-02-10"
    # The same establishment added twice at once: one 201, the other refused.
    twice = await asyncio.gather(
        *(
            fetch(
                client,
                "POST",
                API,
                officer,
                json={"name": "Quán Đôi", "kind": "bar", "commune_code": COMMUNE},
            )
            for _ in range(2)
        )
    )
    assert sorted(r.status for r in twice) == [201, 422]


async def test_pages_link_a_tip_and_show_indicators(client: Any, services: Services) -> None:
    mine, theirs = await seed(services)
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    tip = (
        await services.intake.submit(
            draft(
                "Quán karaoke Hoa Hồng đường Lê Lợi có gái bán dâm",
                commune_code=COMMUNE,
                category=Category.VENUE,
            )
        )
    ).tip_id
    page = await (await fetch(client, "GET", f"/staff/tips/{tip}", cookie(officer))).text()
    assert "Karaoke Hoa Hồng" in page and "Đúng cơ sở này" in page
    assert "Bar Moonlight" not in page
    resp = await fetch(
        client,
        "POST",
        f"/staff/tips/{tip}/establishments",
        cookie(officer),
        data=form(officer, establishment_id=str(theirs)),
    )
    assert resp.status == 404
    resp = await fetch(
        client,
        "POST",
        f"/staff/tips/{tip}/establishments",
        cookie(officer),
        data={"establishment_id": str(mine)},
    )
    assert resp.status == 403  # no CSRF token
    resp = await fetch(
        client,
        "POST",
        f"/staff/tips/{tip}/establishments",
        cookie(officer),
        data=form(officer, establishment_id=str(mine)),
    )
    assert resp.status == 303
    page = await (await fetch(client, "GET", f"/staff/establishments/{mine}", cookie(officer))).text()
    assert f"/staff/tips/{tip}" in page and "Ghi nhận một lần kiểm tra" in page
    assert (await fetch(client, "GET", f"/staff/establishments/{theirs}", cookie(officer))).status == 404
    resp = await fetch(
        client,
        "POST",
        f"/staff/establishments/{mine}/inspections",
        cookie(officer),
        data=form(officer, date="2026-03-01", outcome="no_violation", team="Công an phường"),
    )
    assert resp.status == 303
    resp = await fetch(
        client,
        "POST",
        f"/staff/establishments/{mine}/inspections",
        cookie(officer),
        data=form(officer, date="2026-03-01", outcome="maybe"),
    )
    assert resp.status == 422 and "outcome" in await resp.text()
    # Create from a tip.
    other_tip = (
        await services.intake.submit(
            draft("Massage Thiên Đường", commune_code=COMMUNE, category=Category.VENUE)
        )
    ).tip_id
    resp = await fetch(
        client,
        "POST",
        f"/staff/tips/{other_tip}/establishments/new",
        cookie(officer),
        data=form(officer, name="Massage Thiên Đường", kind="massage", address="", commune_code=COMMUNE),
    )
    assert resp.status == 303
    new_page = await (await fetch(client, "GET", resp.headers["Location"], cookie(officer))).text()
    assert f"/staff/tips/{other_tip}" in new_page
    # The same place again from the tip: the tip page again, saying why.
    resp = await fetch(
        client,
        "POST",
        f"/staff/tips/{other_tip}/establishments/new",
        cookie(officer),
        data=form(officer, name="massage thien duong", kind="massage", address="", commune_code=COMMUNE),
    )
    assert resp.status == 422 and "already" in await resp.text()
    # Needs inspection: supervisors only.
    assert (
        await fetch(client, "GET", "/staff/establishments/needs-inspection", cookie(officer))
    ).status == 403
    chief = await add_staff(services, "chief", f"police:{PROVINCE}", PROVINCE, Role.SUPERVISOR)
    third = (
        await services.intake.submit(
            draft("karaoke Hoa Hồng lại hoạt động", commune_code=COMMUNE, category=Category.VENUE)
        )
    ).tip_id
    resp = await fetch(
        client, "POST", f"/api/v1/staff/tips/{third}/establishments", officer, json={"establishment_id": mine}
    )
    assert resp.status == 201
    again = await fetch(
        client, "POST", f"/api/v1/staff/tips/{third}/establishments", officer, json={"establishment_id": mine}
    )
    assert again.status == 200
    page = await (await fetch(client, "GET", "/staff/establishments/needs-inspection", cookie(chief))).text()
    assert "Karaoke Hoa Hồng" in page
    body = await (await fetch(client, "GET", f"{API}/needs-inspection", cookie(chief))).json()
    assert [(e["id"], e["recent_tips"]) for e in body["items"]] == [(mine, 2)]
    # The KPI page shows the plan indicators in words.
    kpi = await (await fetch(client, "GET", "/staff/kpi?from=2026-01-01&to=2026-12-31", cookie(chief))).text()
    assert (
        "Chỉ tiêu kế hoạch" in kpi and "Cơ sở được kiểm tra trong kỳ" in kpi and "establishments_" not in kpi
    )


async def test_hotspot_pages_and_return(client: Any, services: Services) -> None:
    mine, _ = await seed(services)
    chief = await add_staff(services, "chief", f"police:{PROVINCE}", PROVINCE, Role.SUPERVISOR)
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    resp = await fetch(
        client,
        "POST",
        "/staff/hotspots",
        cookie(chief),
        data=form(chief, name="Công viên 23/9", kind="park", commune_code=COMMUNE),
    )
    assert resp.status == 303
    resp = await fetch(
        client,
        "POST",
        "/api/v1/staff/hotspots",
        chief,
        json={
            "name": "Karaoke Hoa Hồng",
            "kind": "establishment",
            "commune_code": COMMUNE,
            "establishment_id": mine,
        },
    )
    spot = (await resp.json())["id"]
    assert resp.status == 201
    for move, state in (("deal", "dealing"), ("eliminate", "eliminated")):
        resp = await fetch(client, "POST", f"/api/v1/staff/hotspots/{spot}/{move}", chief, json={})
        assert (await resp.json())["state"] == state
    assert (await resp.json())["shown_state"] == "watched"
    resp = await fetch(client, "POST", f"/api/v1/staff/hotspots/{spot}/eliminate", chief, json={})
    assert resp.status == 409
    tip = (
        await services.intake.submit(draft("karaoke Hoa Hồng", commune_code=COMMUNE, category=Category.VENUE))
    ).tip_id
    resp = await fetch(
        client, "POST", f"/staff/hotspots/{spot}/tip", cookie(officer), data=form(officer, tip_id=str(tip))
    )
    assert resp.status == 303
    page = await (await fetch(client, "GET", "/staff/hotspots", cookie(chief))).text()
    assert "<svg" in page and "Tái phát" in page and "Phường Bến Thành" in page
    assert "http" not in page.split("<svg", 1)[1].split("</svg>", 1)[0].replace(
        "http://www.w3.org/2000/svg", ""
    )
    body = await (await fetch(client, "GET", "/api/v1/staff/hotspots", cookie(chief))).json()
    assert [(c["commune_code"], c["open"], c["returned"]) for c in body["communes"]] == [(COMMUNE, 2, 1)]
    # Another commune's officer finds nothing to move.
    stranger = await add_staff(services, "khoa", f"police:{OTHER}", OTHER)
    assert (
        await fetch(client, "POST", f"/api/v1/staff/hotspots/{spot}/deal", stranger, json={})
    ).status == 404
    assert (
        await fetch(client, "POST", f"/staff/hotspots/{spot}/deal", cookie(stranger), data=form(stranger))
    ).status == 404
