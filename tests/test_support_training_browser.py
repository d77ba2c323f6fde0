"""Real-browser test of the training, staff-count and offline-outreach pages and the KPI
page's report form at a phone's width (360 px) and a desktop's (1280 px): filled in and sent
as an officer does, Vietnamese words only, nothing wider than the screen.

Set HOTLINE_SCREENSHOTS=DIR to keep the screenshots (docs/screenshots holds the last ones)."""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from core.officers import Role
from core.support import Activity, Level, TrainingSession
from hotline.bootstrap import Services
from hotline.settings import Settings
from tests.conftest import COMMUNE, PROVINCE, FakeClock, add_staff

CHROMIUM = "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed")
CODES = ("school_talk", "commune:", "health:", "province", "None", "UTC", "Delete", "Save", "meeting")
OWN = f"commune:{COMMUNE}"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, data_dir=tmp_path / "var", province=PROVINCE, master_key="ef" * 32)


async def test_training_and_outreach_pages_in_a_browser(
    backend: str, settings: Settings, services: Services, clock: FakeClock, aiohttp_server: Any
) -> None:
    if backend != "sqlite":
        pytest.skip("one backend is enough for the browser; storage is covered elsewhere")
    from handlers.app import create_app

    support = services.support
    await support.add_training(
        TrainingSession(
            date(2026, 2, 10), Level.COMMUNE, OWN, "Kỹ năng tư vấn, giới thiệu dịch vụ hỗ trợ", {OWN: 14}
        ),
        actor="t",
    )
    await support.set_staff(OWN, Level.COMMUNE, 25, actor="t")
    await support.add_activity(
        Activity(date(2026, 2, 12), COMMUNE, "meeting", "Người dân khu phố 3", 85), actor="t"
    )
    worker = await add_staff(services, "hoa", OWN, COMMUNE)
    supervisor = await add_staff(services, "giamsat", f"health:{PROVINCE}", PROVINCE, Role.SUPERVISOR)
    server = await aiohttp_server(create_app(settings, clock=clock))
    base = str(server.make_url("")).rstrip("/")
    shots = os.environ.get("HOTLINE_SCREENSHOTS")

    async def check(page: Any, width: int) -> None:
        text = await page.inner_text("body")
        for code in CODES:
            assert code not in text, (code, page.url)
        overflow = await page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width + 1, (overflow, page.url)

    async def signed_in(browser: Any, who: dict[str, str], width: int) -> Any:
        context = await browser.new_context(
            viewport={"width": width, "height": 800}, accept_downloads=True, locale="vi-VN"
        )
        token = who["Cookie"].split("=", 1)[1]
        await context.add_cookies([{"name": "hotline_staff", "value": token, "url": base}])
        return context

    async with playwright.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for width in (360, 1280):
                context = await signed_in(browser, worker, width)
                page = await context.new_page()
                resp = await page.goto(f"{base}/staff/support/training")
                assert resp is not None and resp.status == 200
                await page.fill("input[name=date]", f"2026-02-2{width // 1000}")
                await page.select_option("select[name=level]", "commune")
                await page.fill("input[name=topic]", f"Phòng, chống mua bán người ({width})")
                await page.select_option("select[name=participant_agency] >> nth=0", OWN)
                await page.fill("input[name=participant_count] >> nth=0", "9")
                await page.click("form.record button[type=submit]")
                body = await page.inner_text("body")
                assert f"Phòng, chống mua bán người ({width})" in body and "Kỹ năng tư vấn" in body
                await check(page, width)
                if shots:
                    await page.screenshot(path=f"{shots}/staff-training-{width}.png", full_page=True)

                resp = await page.goto(f"{base}/staff/support/staff-counts")
                assert resp is not None and resp.status == 200
                await check(page, width)
                if shots:
                    await page.screenshot(path=f"{shots}/staff-staff-counts-{width}.png", full_page=True)

                resp = await page.goto(f"{base}/staff/support/activities")
                assert resp is not None and resp.status == 200
                await page.fill("input[name=date]", "2026-02-20")
                await page.select_option("select[name=kind]", "school_talk")
                await page.fill("input[name=audience]", "Học sinh THPT")
                await page.fill("input[name=reached]", "320")
                await page.click("form.record button[type=submit]")
                body = await page.inner_text("body")
                assert "Nói chuyện tại trường học" in body and "Người dân khu phố 3" in body
                await check(page, width)
                if shots:
                    await page.screenshot(path=f"{shots}/staff-activities-{width}.png", full_page=True)
                await context.close()

                context = await signed_in(browser, supervisor, width)
                page = await context.new_page()
                resp = await page.goto(f"{base}/staff/kpi?from=2026-01-01&to=2026-12-31")
                assert resp is not None and resp.status == 200
                form = page.locator("form.report")
                await form.scroll_into_view_if_needed()
                await check(page, width)
                if shots:
                    await form.screenshot(path=f"{shots}/staff-report-form-{width}.png")
                await page.select_option("form.report select[name=commune]", COMMUNE)
                async with page.expect_download() as waiting:
                    await page.click("form.report button[type=submit]")
                download = await waiting.value
                assert download.suggested_filename == "bao-cao-2026-01-01-2026-12-31.xlsx"
                await context.close()
        finally:
            await browser.close()
