"""The citizen's pages in a real browser (Playwright driving Debian's Chromium) at 360 px
and 1280 px, with and without JavaScript: every page fits the screen and loads nothing
from elsewhere; call buttons and tap targets are at least 44 px high; the commune list
narrows as you type when JavaScript runs; a report, its receipt and a refresh file one
tip; the quick exit replaces the history entry; axe-core finds no serious or critical
violation. Set HOTLINE_SCREENSHOTS=DIR to keep the screenshots."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from hotline.bootstrap import Services
from hotline.settings import Settings
from storage.models import TipRow
from tests.conftest import FakeClock
from tests.test_learn_browser import AXE, CHROMIUM, RUN_AXE, WIDEST, playwright, pytestmark  # noqa: F401
from tests.test_staff_ux_browser import VISIBLE_WORDS, leaks
from tests.test_web_api import count_rows

PAGES = {"home": "/", "report": "/report", "status": "/status", "ask": "/ask", "404": "/no-such-page"}
#: The height of the smallest link, button or field a finger must hit.
SMALLEST_TARGET = """() => Math.min(...Array.from(document.querySelectorAll(
  'main a, main button, main select, main input:not([type=hidden]):not([name=website]):not([type=radio]):not([type=checkbox]), .choices label, label[for=urgent], .calls a, #quick-exit'))
  .filter(e => e.offsetParent !== null && !e.closest('p.hint'))
  .filter(e => !(e.tagName === 'A' && e.closest('main p, main li, main dd')
                 && !e.classList.contains('button') && !e.classList.contains('call')))
  .map(e => e.getBoundingClientRect().height))"""


async def test_public_pages_in_a_browser(
    backend: str,
    settings: Settings,
    services: Services,
    clock: FakeClock,
    aiohttp_server: Any,
    tmp_path: Path,
) -> None:
    if backend != "sqlite":
        pytest.skip("one backend is enough for the browser; storage is covered elsewhere")
    from handlers.app import create_app

    server = await aiohttp_server(create_app(settings, clock=clock))
    base = str(server.make_url("")).rstrip("/")
    shots = Path(os.environ.get("HOTLINE_SCREENSHOTS") or tmp_path)
    filed = 0
    async with playwright.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for width in (360, 1280):
                for js in (True, False):
                    suffix = "" if js else "-nojs"
                    context = await browser.new_context(
                        viewport={"width": width, "height": 800}, java_script_enabled=js, locale="vi-VN"
                    )
                    outside: list[str] = []
                    context.on(
                        "request", lambda r: outside.append(r.url) if not r.url.startswith(base) else None
                    )
                    await context.route(
                        "https://www.google.com.vn/**", lambda route: route.fulfill(body="ok")
                    )
                    page = await context.new_page()
                    for name, path in PAGES.items():
                        resp = await page.goto(base + path)
                        assert resp is not None and resp.status == (404 if name == "404" else 200), path
                        assert await page.evaluate(WIDEST) <= width, f"{path} is wider than {width} px"
                        assert await page.evaluate(SMALLEST_TARGET) >= 44, f"a small target on {path}"
                        calls = page.locator("a.call")
                        assert await calls.count() == 2
                        for i in range(2):
                            box = await calls.nth(i).bounding_box()
                            assert box is not None and box["height"] >= 44
                        await page.screenshot(
                            path=str(shots / f"public-{name}-{width}{suffix}.png"), full_page=True
                        )
                        assert not leaks(await page.evaluate(VISIBLE_WORDS)), (path, width)

                    # report: search the commune list (JavaScript) or pick from it (without)
                    await page.goto(base + "/report")
                    await page.fill("#text", "Quán karaoke ở đầu hẻm có người bán dâm")
                    if js:
                        before = await page.locator("#commune_code option").count()
                        await page.fill("#commune_code_search", "ben thanh")
                        after = await page.locator("#commune_code option").count()
                        assert 1 < after < before
                    else:
                        assert await page.locator("#commune_code_search").count() == 0
                    await page.check("#category-venue")
                    await page.click("button[type=submit]")
                    filed += 1
                    assert page.url.endswith("/report/received")
                    assert await page.locator("dl.receipt code").count() == 2
                    await page.screenshot(
                        path=str(shots / f"public-receipt-{width}{suffix}.png"), full_page=True
                    )
                    assert not leaks(await page.inner_text("main")), ("receipt", width)
                    code, passphrase = await page.eval_on_selector_all(
                        "dl.receipt code", "cs => cs.map(c => c.textContent)"
                    )
                    # the citizen follows the report with the code and passphrase: Vietnamese only
                    status_page = await context.new_page()
                    await status_page.goto(base + "/status")
                    await status_page.fill("#receipt_code", code)
                    await status_page.fill("#passphrase", passphrase)
                    await status_page.click("main form button[type=submit]")
                    assert await status_page.locator("p.stage").count() == 1
                    assert await status_page.evaluate(WIDEST) <= width
                    assert not leaks(await status_page.evaluate(VISIBLE_WORDS)), ("status", width)
                    await status_page.screenshot(
                        path=str(shots / f"public-status-view-{width}{suffix}.png"), full_page=True
                    )
                    await status_page.close()
                    await page.reload()  # a refresh: no second tip, no passphrase again
                    assert await page.locator("dl.receipt").count() == 0
                    if width == 360:
                        await page.screenshot(path=str(shots / f"public-receipt-again-{width}{suffix}.png"))
                    assert await count_rows(services, TipRow) == filed

                    # the quick exit leaves, and the back button does not come back here
                    await page.goto(base + "/")
                    await page.goto(base + "/report")
                    await page.click("#quick-exit")
                    await page.wait_for_url("https://www.google.com.vn/")
                    if js:
                        await page.go_back()
                        assert page.url == base + "/"
                    assert outside == [] or all(u.startswith("https://www.google.com.vn/") for u in outside)
                    await context.close()

            # accessibility: axe-core injected past the pages' script policy (tests only)
            context = await browser.new_context(viewport={"width": 360, "height": 800}, bypass_csp=True)
            page = await context.new_page()
            for path in [*PAGES.values(), "/report/received"]:
                await page.goto(base + path)
                await page.add_script_tag(path=str(AXE))
                violations = await page.evaluate(RUN_AXE)
                bad = [v for v in violations if v["impact"] in ("serious", "critical")]
                assert bad == [], (path, bad)
            await context.close()
        finally:
            await browser.close()
