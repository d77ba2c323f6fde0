"""Real-browser test of /support (the person's form and receipt) and the case worker's
case page at a phone's width (360 px) and a desktop's (1280 px): Vietnamese words only, no
code or English word, nothing wider than the screen.

Set HOTLINE_SCREENSHOTS=DIR to keep the screenshots (docs/screenshots holds the last ones)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from core.establishments import Scope
from core.support import Provider, State
from hotline.bootstrap import Services
from hotline.settings import Settings
from tests.conftest import COMMUNE, PROVINCE, FakeClock, add_staff

CHROMIUM = "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed")
CODES = ("service_received", "assessed", "referral_", "contact_read", "health", "None", "UTC", "counselling")
WORKER = Scope(commune_code=COMMUNE)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, data_dir=tmp_path / "var", province=PROVINCE, master_key="ef" * 32)


async def test_support_pages_in_a_browser(
    backend: str, settings: Settings, services: Services, clock: FakeClock, aiohttp_server: Any
) -> None:
    if backend != "sqlite":
        pytest.skip("one backend is enough for the browser; storage is covered elsewhere")
    from handlers.app import create_app

    support = services.support
    await support.import_providers(
        [
            Provider(
                0,
                "Phòng khám ngoại trú Bến Thành",
                ("health", "counselling"),
                (COMMUNE,),
                "028 3822 0000",
                True,
            )
        ]
    )
    await support.ask(
        kinds=["health", "job"], commune=COMMUNE, contact="0912 000 111", message="Tôi muốn khám sức khỏe"
    )
    case = (await support.cases(WORKER))[0]
    await support.answer(case.id, WORKER, actor="officer:hoa", message="Chào bạn, mình là cán bộ xã.")
    await support.move(case.id, State.ASSESSED, WORKER, actor="officer:hoa")
    provider = (await support.providers())[0].id
    await support.refer(case.id, provider, ["health"], WORKER, actor="officer:hoa")
    worker = await add_staff(services, "hoa", f"commune:{COMMUNE}", COMMUNE)
    server = await aiohttp_server(create_app(settings, clock=clock))
    base = str(server.make_url("")).rstrip("/")
    shots = os.environ.get("HOTLINE_SCREENSHOTS")

    async def check(page: Any, width: int) -> None:
        text = await page.inner_text("body")
        for code in CODES:
            assert code not in text, (code, page.url)
        overflow = await page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width + 1, (overflow, page.url)

    async with playwright.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for width in (360, 1280):
                context = await browser.new_context(viewport={"width": width, "height": 800})
                page = await context.new_page()
                resp = await page.goto(f"{base}/support")
                assert resp is not None and resp.status == 200
                await check(page, width)
                if shots:
                    await page.screenshot(path=f"{shots}/support-{width}.png", full_page=True)
                await page.check("input[value=counselling]")
                await page.fill("#message", "Tôi cần nói chuyện với ai đó")
                await page.click("button[type=submit]")
                assert "Chúng tôi đã nhận yêu cầu của bạn" in await page.inner_text("body")
                await check(page, width)
                if shots:
                    await page.screenshot(path=f"{shots}/support-receipt-{width}.png", full_page=True)
                await context.close()

                context = await browser.new_context(viewport={"width": width, "height": 800})
                token = worker["Cookie"].split("=", 1)[1]
                await context.add_cookies([{"name": "hotline_staff", "value": token, "url": base}])
                page = await context.new_page()
                resp = await page.goto(f"{base}/staff/support/{case.id}")
                assert resp is not None and resp.status == 200
                body = await page.inner_text("body")
                assert "Phòng khám ngoại trú Bến Thành" in body and "Chào bạn, mình là cán bộ xã." in body
                # Referring a person to a service, in the catalogue's own context (not a tip's "Chuyển").
                assert await page.locator("button:text-is('Chuyển gửi')").count() == 1
                await check(page, width)
                if shots:
                    await page.screenshot(path=f"{shots}/staff-support-case-{width}.png", full_page=True)
                await context.close()
        finally:
            await browser.close()
