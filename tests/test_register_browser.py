"""Real-browser test of registering a tip for a caller (Playwright driving Debian's
Chromium): the form at a phone's width (360 px) and a desk's (1280 px), registered in a few
steps, the printable receipt, and the caller following the tip on /status with it.

Set HOTLINE_SCREENSHOTS=DIR to keep screenshots of the form and the receipt."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from core.officers import Role
from hotline.bootstrap import Services
from hotline.settings import Settings
from tests.conftest import ADMIN_PASSWORD, COMMUNE, PROVINCE, TOTP_SECRET, FakeClock, totp_code

CHROMIUM = "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed")


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, data_dir=tmp_path / "var", province=PROVINCE, master_key="5a" * 32)


async def test_an_officer_registers_a_phone_tip_and_the_caller_follows_it(
    backend: str, settings: Settings, services: Services, clock: FakeClock, aiohttp_server: Any
) -> None:
    if backend != "sqlite":
        pytest.skip("one backend is enough for the browser; storage is covered elsewhere")
    from handlers.app import create_app

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
            page = await browser.new_page(viewport={"width": 360, "height": 780}, locale="vi-VN")
            await page.goto(f"{base}/staff/login")
            await page.fill("#username", "lan")
            await page.fill("#password", ADMIN_PASSWORD)
            await page.fill("#otp", totp_code(services))
            await page.click("form[action='/staff/login'] button")
            await page.wait_for_url(f"{base}/staff/")
            await page.click("a[href='/staff/register']")
            await page.wait_for_url(f"{base}/staff/register")
            form = await page.inner_text("main")
            for words in ("Điện thoại", "Trực tiếp", "Hộp thư tố giác", "Chuyển đến", "Thời điểm tiếp nhận"):
                assert words in form
            # Nothing wider than the phone's screen.
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, width
            await page.click("summary")  # the optional named-informant part, open for the picture
            if shots:
                await page.screenshot(path=f"{shots}/staff-register-360.png", full_page=True)
            await page.set_viewport_size({"width": 1280, "height": 900})
            if shots:
                await page.screenshot(path=f"{shots}/staff-register-1280.png", full_page=True)
            await page.set_viewport_size({"width": 360, "height": 780})
            # Phone is chosen already, the time is now: the text and the commune are enough.
            await page.fill(
                "#text", "Người gọi báo quán karaoke Hoa Hồng trên đường Lê Lợi có tiếp viên bán dâm"
            )
            await page.select_option("#commune_code", COMMUNE)
            await page.click("form.register button[type=submit]")
            await page.wait_for_load_state()
            receipt = await page.inner_text("section.printed-receipt")
            assert "Phiếu tiếp nhận tin báo" in receipt and "Điện thoại" in receipt
            code = (await page.locator("dl.receipt dd code").nth(0).inner_text()).strip()
            passphrase = (await page.locator("dl.receipt dd code").nth(1).inner_text()).strip()
            if shots:
                await page.screenshot(path=f"{shots}/staff-register-receipt-360.png", full_page=True)
            caller = await (await browser.new_context()).new_page()
            await caller.goto(f"{base}/status")
            await caller.fill("#receipt_code", code)
            await caller.fill("#passphrase", passphrase)
            await caller.click("form[action='/status'] button")
            await caller.wait_for_load_state()
            assert "Mới tiếp nhận" in await caller.inner_text(
                "main"
            ) or "tiếp nhận" in await caller.inner_text("main")
        finally:
            await browser.close()
