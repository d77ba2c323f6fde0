"""Real-browser test (Playwright driving Debian's Chromium, no browser download): an
officer signs in with a TOTP code, opens the queue, verifies, classifies and processes a
tip, replies; the reporter then reads the reply on the public status page.

Set HOTLINE_SCREENSHOTS=DIR to keep screenshots of the queue and the KPI page."""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest

from core.categories import Category
from core.officers import Role
from hotline.bootstrap import Services
from hotline.settings import Settings
from tests.builders import draft
from tests.conftest import ADMIN_PASSWORD, COMMUNE, TOTP_SECRET, FakeClock, totp_code

CHROMIUM = "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed")


async def test_officer_works_a_tip_and_the_reporter_reads_the_reply(
    backend: str, settings: Settings, services: Services, clock: FakeClock, aiohttp_server: Any
) -> None:
    if backend != "sqlite":
        pytest.skip("one backend is enough for the browser; storage is covered elsewhere")
    from handlers.app import create_app

    receipt = await services.tips.submit(
        draft("Quán karaoke Hoa Hồng có bán dâm, có cả trẻ em", commune_code=COMMUNE, category=Category.VENUE)
    )
    await services.staff.add_officer(
        username="lan",
        password=ADMIN_PASSWORD,
        agency_code=f"police:{COMMUNE}",
        area_code=COMMUNE,
        role=Role.OFFICER,
        totp_secret=TOTP_SECRET,
    )
    server = await aiohttp_server(create_app(settings, clock=clock))
    base = str(server.make_url("")).rstrip("/")
    shots = os.environ.get("HOTLINE_SCREENSHOTS")

    async with playwright.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await page.goto(f"{base}/staff/")
            assert page.url.endswith("/staff/login")
            await page.fill("#username", "lan")
            await page.fill("#password", ADMIN_PASSWORD)
            await page.fill("#otp", totp_code(services))
            await page.click("form[action='/staff/login'] button")
            await page.wait_for_url(f"{base}/staff/")
            row = page.locator(f"a[href='/staff/tips/{receipt.tip_id}']")
            assert await row.count() == 1
            if shots:
                await page.screenshot(path=f"{shots}/staff-queue.png", full_page=True)
            await row.click()

            async def move(to: str, **selects: str) -> None:
                await page.select_option("#to", to)
                for field, value in selects.items():
                    await page.select_option(f"#{field}", value)
                await page.click("form[action$='/transition'] button")
                await page.wait_for_load_state()
                assert await page.locator(".problem").count() == 0, await page.inner_text("main")

            await move("verified")
            await move("classified", category="minor", urgent="true")
            await page.fill("#reason", "Đã kiểm tra, xử phạt hành chính")
            await move("processed")
            facts = await page.inner_text("dl.facts")
            assert "Đã xử lý" in facts and "minor" in facts  # the stage, as the Vietnamese UI names it
            await page.fill("#reply", "Cảm ơn bạn, chúng tôi đã xử lý.")
            await page.click("form[action$='/reply'] button")
            await page.wait_for_load_state()
            assert "Cảm ơn bạn, chúng tôi đã xử lý." in await page.inner_text("main")
            if shots:
                await page.goto(f"{base}/staff/kpi?from=2026-03-01&to=2026-03-31")
                await page.screenshot(path=f"{shots}/staff-kpi.png", full_page=True)

            reporter = await browser.new_context()
            public = await reporter.new_page()
            await public.goto(f"{base}/status")
            await public.fill("#receipt_code", receipt.receipt_code)
            await public.fill("#passphrase", receipt.passphrase)
            await public.click("form[action='/status'] button")
            await public.wait_for_load_state()
            text = await public.inner_text("main")
            assert "Cảm ơn bạn, chúng tôi đã xử lý." in text
            assert "lan" not in text  # the officer stays anonymous
        finally:
            await browser.close()
