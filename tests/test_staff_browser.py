"""Real-browser test (Playwright driving Debian's Chromium, no browser download): an
officer signs in with a TOTP code, opens the queue, sees an urgent tip arrive without
reloading (Server-Sent Events), verifies, classifies and processes a tip, replies; the
KPI page draws its charts (Chart.js, our own static file); the reporter then reads the
reply on the public status page.

Set HOTLINE_SCREENSHOTS=DIR to keep screenshots of the queue and the KPI page."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from typing import Any

import pytest

from core.categories import Category
from core.officers import Role
from core.stages import Stage
from hotline.bootstrap import Services
from hotline.settings import Settings
from tests.builders import draft, move
from tests.conftest import ADMIN_PASSWORD, COMMUNE, REMOTE_COMMUNE, TOTP_SECRET, FakeClock, totp_code

CHROMIUM = "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed")


INKED_PIXELS = """(id) => {
  const c = document.getElementById(id);
  const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) { n++; } }
  return n;
}"""


async def earlier_weeks(services: Services, clock: FakeClock) -> None:
    """Tips over the eight weeks before today, in several categories and units, some of
    them verified (on time or late), so the queue and the charts have something to show."""
    now = clock.now
    categories = [Category.VENUE, Category.ONLINE, Category.STREET, Category.TRAFFICKING, None]
    communes = [COMMUNE, COMMUNE, REMOTE_COMMUNE, None]
    for n in range(36):
        clock.now = now - timedelta(days=56 - n * 1.5, hours=n % 5)
        receipt = await services.intake.submit(
            draft(f"Tin thử số {n}", commune_code=communes[n % 4], category=categories[n % 5])
        )
        if n % 3 == 0:
            clock.advance(hours=6 if n % 2 else 60)
            await services.tips.transition(receipt.tip_id, move(Stage.VERIFIED))
    clock.now = now


async def test_officer_works_a_tip_and_the_reporter_reads_the_reply(
    backend: str, settings: Settings, services: Services, clock: FakeClock, aiohttp_server: Any
) -> None:
    if backend != "sqlite":
        pytest.skip("one backend is enough for the browser; storage is covered elsewhere")
    from handlers.app import create_app

    await earlier_weeks(services, clock)
    receipt = await services.intake.submit(
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
    live = settings.model_copy(update={"staff_events_poll_seconds": 0.2})
    server = await aiohttp_server(create_app(live, clock=clock))
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
            # An urgent tip arrives while the queue is open: highlighted without a reload.
            await page.wait_for_selector("table.queue[data-live-open]", timeout=10_000)
            arrived = await services.intake.submit(
                draft("Có người bị giữ trong nhà nghỉ, cần giúp ngay", commune_code=COMMUNE, urgent=True)
            )
            await page.wait_for_selector(f"tr#tip-{arrived.tip_id}.arrived", timeout=10_000)
            assert f"#{arrived.tip_id}" in await page.inner_text("#live")
            if shots:
                await page.screenshot(path=f"{shots}/staff-queue.png", full_page=True)
            await row.click()

            async def move(to: str, **selects: str) -> None:
                # only the steps the stage allows are offered, each as its own button
                form = page.locator(f"form.move:has(input[name=to][value={to}])")
                for field, value in selects.items():
                    await page.select_option(f"#{field}", value)
                await form.locator("button").click()
                await page.wait_for_load_state()
                assert await page.locator(".problem").count() == 0, await page.inner_text("main")

            assert await page.locator("form.move input[name=to][value=processed]").count() == 0
            await move("verified")
            await move("classified", category="minor", urgent="true")
            await page.fill("#processed-reason", "Đã kiểm tra, xử phạt hành chính")
            await move("processed")
            assert await page.locator("form.move").count() == 0  # a closed tip: no actions
            facts = await page.inner_text("dl.facts")
            # Stage and category in words, as the Vietnamese UI names them.
            assert "Đã xử lý" in facts and "Có người chưa thành niên" in facts and "minor" not in facts
            await page.fill("#reply", "Cảm ơn bạn, chúng tôi đã xử lý.")
            await page.click("form[action$='/reply'] button")
            await page.wait_for_load_state()
            assert "Cảm ơn bạn, chúng tôi đã xử lý." in await page.inner_text("main")
            await page.set_viewport_size({"width": 1280, "height": 900})
            await page.goto(f"{base}/staff/kpi?from=2026-01-05&to=2026-03-31")
            await page.wait_for_selector("#charts[data-ready='1']", timeout=10_000)
            for canvas in ("chart-weeks", "chart-on-time", "chart-age", "chart-workload"):
                assert await page.locator(f"#{canvas}[data-drawn='1']").is_visible()
            inked = await page.evaluate(INKED_PIXELS, "chart-weeks")
            assert inked > 500, inked  # bars were drawn, not an empty canvas
            if shots:
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
