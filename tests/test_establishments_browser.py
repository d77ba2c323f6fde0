"""Real-browser test of the register's pages at a phone's width (360 px) and a desktop's
(1280 px): the list, an establishment, "needs inspection", hotspots with the map, a tip's
proposed establishments (confirmed with a click) and the KPI page's plan indicators. Every
page reads in Vietnamese words: no code, no English word.

Set HOTLINE_SCREENSHOTS=DIR to keep the screenshots (docs/screenshots holds the last ones)."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from typing import Any

import pytest

from core.categories import Category
from core.establishments import (
    EstablishmentDraft,
    HotspotDraft,
    HotspotKind,
    InspectionDraft,
    Kind,
    Outcome,
    Scope,
    Status,
)
from core.jurisdiction import EVERYTHING
from core.officers import Role
from hotline.bootstrap import Services
from hotline.settings import Settings
from tests.builders import draft
from tests.conftest import COMMUNE, PROVINCE, FakeClock, add_staff

CHROMIUM = "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed")
OTHER = "26740"
ALL = Scope(province_code=PROVINCE)
#: Codes and English words that must never reach a Vietnamese page.
CODES = ("guesthouse", "boarding_house", "no_violation", "dealing", "returned", "establishments_", "not_met",
         "online_group", "managed", "listed", "None", "UTC")  # fmt: skip


async def register(services: Services, clock: FakeClock) -> tuple[int, int]:
    est = services.establishments
    now = clock.now
    rows = [
        ("Karaoke Hoa Hồng", Kind.KARAOKE, "12 Lê Lợi", COMMUNE, Status.MANAGED),
        ("Nhà nghỉ Bông Sen", Kind.GUESTHOUSE, "7 Lê Lai", COMMUNE, Status.LISTED),
        ("Khách sạn Sao Mai", Kind.HOTEL, "3 Nguyễn Trãi", COMMUNE, Status.MANAGED),
        ("Massage Thiên Đường", Kind.MASSAGE, "45 Hai Bà Trưng", OTHER, Status.MANAGED),
        ("Nhà trọ Minh Tâm", Kind.BOARDING_HOUSE, "8 Lý Tự Trọng", OTHER, Status.LISTED),
        ("Bar Moonlight", Kind.BAR, "5 Đồng Khởi", OTHER, Status.MANAGED),
    ]
    ids = []
    for name, kind, address, commune, status in rows:
        clock.now = now - timedelta(days=500)
        ids.append(
            await est.add(
                EstablishmentDraft(
                    name, kind, address, commune, "12/GP-UBND", status, (now - timedelta(days=90)).date()
                ),
                ALL,
                actor="officer:lan",
            )
        )
    clock.now = now
    await est.inspect(
        ids[0],
        InspectionDraft(
            (now - timedelta(days=40)).date(),
            Outcome.VIOLATION,
            "Công an phường, Văn hóa",
            "Không đăng ký lưu trú",
            7_500_000,
            "Đã lập biên bản",
        ),
        ALL,
        actor="officer:lan",
    )
    await est.inspect(
        ids[3],
        InspectionDraft((now - timedelta(days=400)).date(), Outcome.NO_VIOLATION, "Đoàn liên ngành"),
        ALL,
        actor="officer:lan",
    )
    for text in (
        "Quán karaoke Hoa Hồng đường Lê Lợi có gái bán dâm",
        "karaoke Hoa Hồng vẫn hoạt động ban đêm",
    ):
        tip = (await services.intake.submit(draft(text, commune_code=COMMUNE, category=Category.VENUE))).tip_id
        await est.link(tip, ids[0], ALL, EVERYTHING, actor="officer:lan")
    spots = [
        ("Công viên bờ sông", HotspotKind.PARK, COMMUNE, ()),
        ("Đường Lê Lợi đoạn gần chợ", HotspotKind.STREET, COMMUNE, ("deal",)),
        ('Nhóm Zalo "Gái xinh VIP"', HotspotKind.ONLINE_GROUP, OTHER, ("deal", "eliminate")),
        ("Hẻm sau bến xe", HotspotKind.STREET, OTHER, ("deal", "eliminate", "return")),
    ]
    for spot_name, spot_kind, commune, moves in spots:
        spot = await est.add_hotspot(HotspotDraft(spot_name, spot_kind, commune), ALL, actor="officer:lan")
        for move in moves:
            await est.move_hotspot(spot, move, ALL, actor="officer:lan")
    fresh = (
        await services.intake.submit(
            draft(
                "Nhà nghỉ Bông Sen có môi giới đứng trước cửa mời khách",
                commune_code=COMMUNE,
                category=Category.VENUE,
            )
        )
    ).tip_id
    return ids[0], fresh


async def test_register_pages_in_a_browser(
    backend: str, settings: Settings, services: Services, clock: FakeClock, aiohttp_server: Any
) -> None:
    if backend != "sqlite":
        pytest.skip("one backend is enough for the browser; storage is covered elsewhere")
    from handlers.app import create_app

    first, fresh = await register(services, clock)
    chief = await add_staff(services, "chief", f"police:{PROVINCE}", PROVINCE, Role.SUPERVISOR)
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    server = await aiohttp_server(create_app(settings, clock=clock))
    base = str(server.make_url("")).rstrip("/")
    shots = os.environ.get("HOTLINE_SCREENSHOTS")

    def session(headers: dict[str, str]) -> list[dict[str, Any]]:
        token = headers["Cookie"].split("=", 1)[1]
        return [{"name": "hotline_staff", "value": token, "url": base}]

    async def check(page: Any) -> None:
        text = await page.inner_text("body")
        for code in CODES:
            assert code not in text, (code, page.url)

    async with playwright.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for width in (360, 1280):
                context = await browser.new_context(viewport={"width": width, "height": 800})
                await context.add_cookies(session(chief))
                page = await context.new_page()
                for name, path in [
                    ("establishments", "/staff/establishments"),
                    ("establishment", f"/staff/establishments/{first}"),
                    ("needs-inspection", "/staff/establishments/needs-inspection"),
                    ("hotspots", "/staff/hotspots"),
                ]:
                    resp = await page.goto(f"{base}{path}")
                    assert resp is not None and resp.status == 200, path
                    await check(page)
                    if shots:
                        await page.screenshot(path=f"{shots}/staff-{name}-{width}.png", full_page=True)
                assert await page.locator("svg.commune-map rect").count() == 2
                # The page fits the phone: nothing wider than the viewport but the scrolled tables.
                overflow = await page.evaluate("document.documentElement.scrollWidth")
                assert overflow <= width + 1, overflow
                await page.goto(f"{base}/staff/kpi?from=2025-01-01&to=2026-12-31")
                await check(page)
                # One bar per registered indicator: the register's five, support's four, the
                # tips' on-time handling per stage (four) and the reach per audience (three).
                assert await page.locator("section.indicators svg.bar").count() == 16
                if shots and width == 1280:
                    await page.locator("section.indicators").screenshot(
                        path=f"{shots}/staff-kpi-indicators-{width}.png"
                    )
                await context.close()

            # A commune officer confirms the establishment a tip names, from the tip page.
            context = await browser.new_context(viewport={"width": 360, "height": 800})
            await context.add_cookies(session(officer))
            page = await context.new_page()
            await page.goto(f"{base}/staff/tips/{fresh}")
            section = page.locator("#establishments")
            assert "Nhà nghỉ Bông Sen" in await section.inner_text()
            await check(page)
            if shots:
                await section.screenshot(path=f"{shots}/staff-tip-establishments-360.png")
            await section.locator("button", has_text="Đúng cơ sở này").first.click()
            await page.wait_for_load_state()
            assert "Tin báo này nói về" in await page.locator("#establishments").inner_text()
            await context.close()
        finally:
            await browser.close()
