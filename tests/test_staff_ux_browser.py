"""The staff workspace as a Vietnamese officer sees it, in a real browser at 360 px and
1280 px, with and without JavaScript: the queue, an open and a closed tip, the KPI page,
the accounts and the activity log fit the screen, show no English word, raw code or UTC
time, and axe-core finds no serious or critical violation. Set HOTLINE_SCREENSHOTS=DIR
to keep the screenshots."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from core.categories import Category
from core.officers import Role
from core.stages import Stage
from hotline.bootstrap import Services
from hotline.settings import Settings
from tests.builders import draft, move
from tests.conftest import ADMIN_PASSWORD, COMMUNE, PROVINCE, TOTP_SECRET, FakeClock, totp_code
from tests.test_learn_browser import AXE, CHROMIUM, RUN_AXE, WIDEST, playwright, pytestmark  # noqa: F401

#: Words that leaked into the Vietnamese workspace before: codes, English labels, UTC.
ENGLISH = re.compile(
    r"\b(True|False|None|reporter|officer|system|transition|verified|classified|processed|referred|"
    r"received|duplicate|spam|unfounded|admin|supervisor|UTC|police|Tip|Stage|Agency|Urgent|"
    r"Queue|the|and|login|view|starter|content)\b"
)


async def test_staff_pages_in_vietnamese_on_a_phone_and_a_desktop(
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

    await services.staff.add_officer(
        username="quantri",
        password=ADMIN_PASSWORD,
        agency_code=f"police:{PROVINCE}",
        area_code=PROVINCE,
        role=Role.ADMIN,
        totp_secret=TOTP_SECRET,
    )
    await services.staff.add_officer(
        username="lan",
        password=ADMIN_PASSWORD,
        agency_code=f"police:{COMMUNE}",
        area_code=COMMUNE,
        role=Role.OFFICER,
        totp_secret=None,
    )
    open_tip = await services.tips.submit(
        draft("Quán karaoke Hoa Hồng có bán dâm, có cả trẻ em", commune_code=COMMUNE, category=Category.VENUE)
    )
    closed = await services.tips.submit(draft("Tin nhắn quảng cáo vô nghĩa", commune_code=COMMUNE))
    await services.tips.transition(closed.tip_id, move(Stage.SPAM, "quảng cáo"))
    await services.tips.reply(open_tip.tip_id, actor="officer:quantri", text="Quán ở tầng mấy?")
    signed = await services.staff.sign_in("quantri", ADMIN_PASSWORD, totp_code(services))
    server = await aiohttp_server(create_app(settings, clock=clock))
    base = str(server.make_url("")).rstrip("/")
    shots = Path(os.environ.get("HOTLINE_SCREENSHOTS") or tmp_path)
    pages = {
        "queue": "/staff/",
        "tip": f"/staff/tips/{open_tip.tip_id}",
        "tip-closed": f"/staff/tips/{closed.tip_id}",
        "kpi": "/staff/kpi",
        "officers": "/staff/officers",
        "audit": "/staff/audit",
    }
    async with playwright.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for width in (360, 1280):
                for js in (True, False):
                    context = await browser.new_context(
                        viewport={"width": width, "height": 900}, java_script_enabled=js, locale="vi-VN"
                    )
                    await context.add_cookies([{"name": "hotline_staff", "value": signed.token, "url": base}])
                    page = await context.new_page()
                    for name, path in pages.items():
                        resp = await page.goto(base + path)
                        assert resp is not None and resp.status == 200, path
                        wide = await page.evaluate(
                            "(w) => Array.from(document.querySelectorAll('main *'))"
                            ".filter(e => e.getBoundingClientRect().right > w).slice(0, 5)"
                            ".map(e => e.tagName + '.' + e.className)",
                            width,
                        )
                        assert await page.evaluate(WIDEST) <= width, (path, width, wide)
                        text = await page.inner_text("main")
                        assert not ENGLISH.findall(text), (path, sorted(set(ENGLISH.findall(text))))
                        suffix = "" if js else "-nojs"
                        await page.screenshot(
                            path=str(shots / f"staff-{name}-{width}{suffix}.png"), full_page=True
                        )
                    await context.close()

            context = await browser.new_context(viewport={"width": 360, "height": 900}, bypass_csp=True)
            await context.add_cookies([{"name": "hotline_staff", "value": signed.token, "url": base}])
            page = await context.new_page()
            for path in pages.values():
                await page.goto(base + path)
                await page.add_script_tag(path=str(AXE))
                violations = await page.evaluate(RUN_AXE)
                bad = [v for v in violations if v["impact"] in ("serious", "critical")]
                assert bad == [], (path, bad)
            await context.close()

            # Referral: typing part of an agency's name, without tone marks, narrows the list.
            context = await browser.new_context(viewport={"width": 360, "height": 900}, locale="vi-VN")
            await context.add_cookies([{"name": "hotline_staff", "value": signed.token, "url": base}])
            page = await context.new_page()
            await page.goto(base + pages["tip"])
            await page.locator("details:has(#to_agency) summary").click()
            everyone = await page.locator("#to_agency option").count()
            await page.fill("#to_agency_search", "y te")
            names = await page.eval_on_selector_all("#to_agency option", "os => os.slice(1).map(o => o.text)")
            assert names and len(names) < everyone - 1, (everyone, names)
            assert all("y tế" in n.lower() for n in names), names
            await context.close()
        finally:
            await browser.close()
