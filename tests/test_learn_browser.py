"""The public library in a real browser (Playwright driving Debian's Chromium): at 360 px
and 1280 px, with and without JavaScript, every page fits the screen, loads nothing from
elsewhere and leaves no cookie; axe-core (vendored under tests/vendor) finds no serious or
critical accessibility violation; the share block's copy button works where JavaScript runs
and the address stays selectable where it does not.

Set HOTLINE_SCREENSHOTS=DIR to keep the screenshots (docs/screenshots holds the last ones)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from core.outreach.content import ItemState
from hotline.bootstrap import Services
from hotline.settings import Settings
from tests.conftest import FakeClock

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
playwright = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed")

RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                      nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 3)}));
}"""
WIDEST = "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"


async def test_learn_pages_in_a_browser(
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

    # The starter library the migration publishes: real texts in both languages.
    published = await services.outreach.list_items(
        state=ItemState.PUBLISHED, audience="student", language="vi"
    )
    assert published, "the starter library has student items"
    item = published[0]
    server = await aiohttp_server(create_app(settings, clock=clock))
    base = str(server.make_url("")).rstrip("/")
    shots = Path(os.environ.get("HOTLINE_SCREENSHOTS") or tmp_path)
    pages = {
        "index": "/learn",
        "audience": "/learn/student",
        "item": f"/learn/item/{item.id}",
        "questions": "/learn/questions",
    }

    async with playwright.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for width in (360, 1280):
                for js in (True, False):
                    context = await browser.new_context(
                        viewport={"width": width, "height": 800}, java_script_enabled=js, locale="vi-VN"
                    )
                    if js:
                        await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
                    outside: list[str] = []
                    context.on(
                        "request", lambda r: outside.append(r.url) if not r.url.startswith(base) else None
                    )
                    page = await context.new_page()
                    for name, path in pages.items():
                        resp = await page.goto(base + path)
                        assert resp is not None and resp.status == 200, path
                        assert await page.evaluate(WIDEST) <= width, f"{path} is wider than {width} px"
                        suffix = "" if js else "-nojs"
                        await page.screenshot(
                            path=str(shots / f"learn-{name}-{width}{suffix}.png"), full_page=True
                        )
                    # the share block: a button with JavaScript, a selectable address without
                    await page.goto(base + pages["item"])
                    assert await page.input_value("#share-url") == f"{base}/learn/item/{item.id}"
                    button = page.locator("button.copy")
                    if js:
                        await button.click()
                        # The clipboard answers asynchronously: wait for the button to say so.
                        await playwright.expect(button).to_have_text("Đã sao chép liên kết")
                        copied = await page.evaluate("() => navigator.clipboard.readText()")
                        assert copied == f"{base}/learn/item/{item.id}"
                    else:
                        assert await button.count() == 0
                    assert outside == [], outside
                    assert await context.cookies() == []
                    await context.close()

            # accessibility: axe-core injected past the pages' script policy (tests only)
            context = await browser.new_context(viewport={"width": 360, "height": 800}, bypass_csp=True)
            page = await context.new_page()
            for path in [*pages.values(), "/learn/student?lang=en", "/learn/item/999999"]:
                await page.goto(base + path)
                await page.add_script_tag(path=str(AXE))
                violations = await page.evaluate(RUN_AXE)
                bad = [v for v in violations if v["impact"] in ("serious", "critical")]
                assert bad == [], (path, bad)
            await context.close()
        finally:
            await browser.close()
