"""The staff workspace as a Vietnamese officer sees it, in a real browser at 360 px and
1280 px, with and without JavaScript: every staff page (the queue, a tip at every stage, a
tip registered by phone, the KPI page, accounts, activity log, registration, establishments,
hotspots, outreach, reach, support) fits the screen, shows no English word, raw code, JSON
or UTC time, and axe-core finds no serious or critical violation. Set
HOTLINE_SCREENSHOTS=DIR to keep the screenshots."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.categories import Category, Channel
from core.establishments import Scope
from core.officers import Role
from core.registration import Registration
from core.services import TransitionRequest
from core.stages import Stage
from core.support import Provider, State
from hotline.bootstrap import Services
from hotline.settings import Settings
from tests.builders import draft
from tests.conftest import ADMIN_PASSWORD, COMMUNE, PROVINCE, TOTP_SECRET, FakeClock, totp_code
from tests.test_establishments_browser import register as register_establishments
from tests.test_learn_browser import AXE, CHROMIUM, RUN_AXE, WIDEST, playwright, pytestmark  # noqa: F401

#: Words that leaked into the Vietnamese workspace before: codes, English labels, UTC.
ENGLISH = re.compile(
    r"\b(True|False|None|reporter|officer|system|transition|verified|classified|processed|referred|"
    r"received|duplicate|spam|unfounded|admin|supervisor|UTC|police|Tip|Stage|Agency|Urgent|"
    r"Queue|the|and|login|view|starter|content|establishment|hotspot|rows|added|late|entry|into|"
    r"tips|case|dashboard|kpi|audit|triage|corrections|export|register|phone|health|job|"
    r"counselling|managed|listed|deal|eliminate|violation|null|true|false|Web|Phone)\b"
)
#: A code (snake_case, a `kind:who` actor), a JSON object or an ISO date on a page.
CODE = re.compile(r"\b[a-z]+_[a-z_]+\b|\b[a-z]+:[a-z0-9]+\b|[{\[]\"|\b\d{4}-\d{2}-\d{2}\b")
SCROLL = "() => document.documentElement.scrollWidth"
#: A box the reader would have to scroll sideways within (a wide table in a scroller).
SIDEWAYS = """() => Array.from(document.querySelectorAll('main *'))
  .filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX) && e.scrollWidth > e.clientWidth + 1)
  .map(e => e.tagName + '.' + e.className)"""
#: Two tables (or chart figures) drawn over each other.
OVERLAPS = """() => {
  const boxes = Array.from(document.querySelectorAll('main table, main figure'))
    .filter(e => !e.parentElement.closest('table, figure') && e.offsetParent !== null)
    .map(e => [e, e.getBoundingClientRect()]);
  const hits = [];
  for (const [a, r] of boxes) for (const [b, q] of boxes)
    if (a !== b && a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING
        && r.left < q.right - 1 && q.left < r.right - 1 && r.top < q.bottom - 1 && q.top < r.bottom - 1)
      hits.push(a.tagName + '.' + a.className + ' / ' + b.tagName + '.' + b.className);
  return hits;
}"""
#: The page's text, less what is marked as another language (an English item of the outreach
#: library, in `lang="en"`) and what an officer types as a key (`<code>`).
VISIBLE_WORDS = """() => {
  document.querySelectorAll('body [lang]:not([lang|=vi]), body code').forEach(e => e.remove());
  return document.body.innerText;
}"""


def leaks(text: str) -> list[str]:
    return sorted(set(ENGLISH.findall(text)) | set(CODE.findall(text)))


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, data_dir=tmp_path / "var", province=PROVINCE, master_key="5a" * 32)


def step(target: Stage, reason: str = "", **kw: Any) -> TransitionRequest:
    return TransitionRequest(target=target, actor="officer:quantri", reason=reason, **kw)


async def tips_in_every_stage(services: Services, clock: FakeClock, officer: Any) -> dict[str, int]:
    """One tip per stage, one registered by phone a day late, one referred to the health service."""
    tips = services.tips
    _areas, agencies = await services.staff.directory()
    health = next(code for code in agencies if code.startswith("health:"))
    made: dict[str, int] = {}

    async def new(text: str, **kw: Any) -> int:
        return (await services.intake.submit(draft(text, commune_code=COMMUNE, **kw))).tip_id

    made["new"] = await new("Quán karaoke Hoa Hồng có bán dâm, có cả trẻ em", category=Category.VENUE)
    await tips.reply(made["new"], actor="officer:quantri", text="Quán ở tầng mấy?")
    for name in ("verified", "classified", "processed", "referred"):
        made[name] = await new(
            f"Nhà nghỉ Bông Sen có môi giới mời khách, lần {len(made)}", category=Category.VENUE
        )
        await tips.transition(made[name], step(Stage.VERIFIED))
        if name == "verified":
            continue
        if name == "referred":
            await tips.transition(made[name], step(Stage.REFERRED, "Có dấu hiệu bóc lột", to_agency=health))
            continue
        await tips.transition(made[name], step(Stage.CLASSIFIED, category=Category.MINOR, urgent=True))
        if name == "processed":
            await tips.extend_deadline(made[name], actor="officer:quantri", reason="Chờ kết quả xác minh")
            await tips.transition(made[name], step(Stage.PROCESSED, "Đã kiểm tra, lập biên bản"))
    made["spam"] = await new("Tin nhắn quảng cáo vô nghĩa")
    await tips.transition(made["spam"], step(Stage.SPAM, "quảng cáo"))
    made["unfounded"] = await new("Nghe nói có quán có vấn đề")
    await tips.transition(made["unfounded"], step(Stage.VERIFIED))
    await tips.transition(made["unfounded"], step(Stage.UNFOUNDED, "Không có địa chỉ cụ thể"))
    made["duplicate"] = await new("Quán karaoke Hoa Hồng có bán dâm")
    await tips.transition(made["duplicate"], step(Stage.DUPLICATE, "Trùng tin", duplicate_of=made["new"]))
    receipt = await services.registrations.register(
        Registration(
            channel=Channel.PHONE,
            received_at=clock.now - timedelta(hours=30),
            text="Người gọi báo quán karaoke Hoa Hồng có tiếp viên bán dâm",
            commune_code=COMMUNE,
            category=Category.VENUE,
            late_reason="Mất điện, sổ ghi chép nhập lại sau",
        ),
        officer=officer,
        actor="officer:quantri",
    )
    made["registered"] = receipt.tip_id
    return made


async def support_case(services: Services) -> int:
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
        kinds=["health", "job"], commune=COMMUNE, contact="0912 000 111", message="Tôi muốn khám"
    )
    worker = Scope(commune_code=COMMUNE)
    case = (await support.cases(worker))[0]
    await support.answer(case.id, worker, actor="officer:quantri", message="Chào bạn, mình là cán bộ xã.")
    await support.move(case.id, State.ASSESSED, worker, actor="officer:quantri")
    provider = (await support.providers())[0].id
    await support.refer(case.id, provider, ["health"], worker, actor="officer:quantri")
    return case.id


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
    signed = await services.staff.sign_in("quantri", ADMIN_PASSWORD, totp_code(services))
    made = await tips_in_every_stage(services, clock, signed.officer)
    establishment, _fresh = await register_establishments(services, clock)
    case = await support_case(services)
    content = await services.outreach.list_items()
    published = next(item for item in content if item.state.value == "published")
    campaign = await services.outreach.create_campaign(published.id, published.audience, by="officer:quantri")
    server = await aiohttp_server(create_app(settings, clock=clock))
    base = str(server.make_url("")).rstrip("/")
    shots = Path(os.environ.get("HOTLINE_SCREENSHOTS") or tmp_path)
    pages = {
        "queue": "/staff/",
        **{f"tip-{name}": f"/staff/tips/{tip_id}" for name, tip_id in made.items()},
        "kpi": "/staff/kpi",
        "officers": "/staff/officers",
        "audit": "/staff/audit",
        "register": "/staff/register",
        "establishments": "/staff/establishments",
        "establishment": f"/staff/establishments/{establishment}",
        "needs-inspection": "/staff/establishments/needs-inspection",
        "hotspots": "/staff/hotspots",
        "content": "/staff/content",
        "content-item": f"/staff/content/{content[0].id}",
        "campaigns": "/staff/campaigns",
        "campaign": f"/staff/campaigns/{campaign.id}",
        "reach": "/staff/reach",
        "knowledge": "/staff/knowledge",
        "support": "/staff/support",
        "support-case": f"/staff/support/{case}",
        "support-providers": "/staff/support/providers",
    }
    async with playwright.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        problems: list[str] = []

        async def check(page: Any, where: str, width: int, shot: str) -> None:
            wide = await page.evaluate(
                "(w) => Array.from(document.querySelectorAll('main *'))"
                ".filter(e => e.getBoundingClientRect().right > w).slice(0, 5)"
                ".map(e => e.tagName + '.' + e.className)",
                width,
            )
            if max(await page.evaluate(SCROLL), await page.evaluate(WIDEST)) > width:
                problems.append(f"{where} wider than {width}: {wide}")
            if sideways := await page.evaluate(SIDEWAYS):
                problems.append(f"{where} scrolls sideways inside at {width}: {sideways}")
            if overlaps := await page.evaluate(OVERLAPS):
                problems.append(f"{where} has overlapping tables at {width}: {overlaps}")
            await page.screenshot(path=str(shots / f"staff-{shot}.png"), full_page=True)
            text = await page.evaluate(VISIBLE_WORDS)
            if leaks(text):
                problems.append(f"{where} at {width}: {leaks(text)}")

        try:
            for width in (360, 1280):
                for js in (True, False):
                    suffix = "" if js else "-nojs"
                    context = await browser.new_context(
                        viewport={"width": width, "height": 900}, java_script_enabled=js, locale="vi-VN"
                    )
                    page = await context.new_page()
                    # Signing in, and the first sign-in of an account without an authenticator.
                    await page.goto(base + "/staff/login")
                    await check(page, "login", width, f"login-{width}{suffix}")
                    await page.fill("#username", "lan")
                    await page.fill("#password", ADMIN_PASSWORD)
                    await page.click("form[action='/staff/login'] button")
                    await check(page, "enrol", width, f"enrol-{width}{suffix}")
                    await context.add_cookies([{"name": "hotline_staff", "value": signed.token, "url": base}])
                    for name, path in pages.items():
                        resp = await page.goto(base + path)
                        assert resp is not None and resp.status == 200, path
                        await check(page, path, width, f"{name}-{width}{suffix}")
                    # An administrator sets a new password for a colleague who forgot theirs.
                    await page.goto(base + "/staff/officers")
                    await page.locator("details:has(input[name=password]) summary").first.click()
                    await page.locator("input[name=password]").first.fill("a new long password 2026")
                    await page.locator("form:has(input[name=password]) button").first.click()
                    await check(page, "password set", width, f"password-set-{width}{suffix}")
                    await context.close()
            assert problems == [], "\n".join(dict.fromkeys(problems))

            context = await browser.new_context(viewport={"width": 360, "height": 900}, bypass_csp=True)
            await context.add_cookies([{"name": "hotline_staff", "value": signed.token, "url": base}])
            page = await context.new_page()
            for path in ["/staff/login", *pages.values()]:
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
            # The charts name agencies and weeks as the tables do, not by code or ISO date.
            await page.goto(base + pages["kpi"])
            await page.wait_for_selector("#chart-workload[data-drawn]")
            for chart in ("chart-weeks", "chart-workload"):
                labels = await page.evaluate(
                    "(id) => Chart.getChart(document.getElementById(id)).data.labels", chart
                )
                assert labels and not leaks(" ".join(labels)), (chart, labels)
            # A tip closed as a duplicate names the one it repeats, as a link.
            await page.goto(base + pages["tip-duplicate"])
            assert await page.locator(f"dl.facts a[href='/staff/tips/{made['new']}']").count() == 1
            await page.goto(base + pages["tip-new"])
            await page.locator("details:has(#to_agency) summary").click()
            everyone = await page.locator("#to_agency option").count()
            await page.fill("#to_agency_search", "y te")
            names = await page.eval_on_selector_all("#to_agency option", "os => os.slice(1).map(o => o.text)")
            assert names and len(names) < everyone - 1, (everyone, names)
            assert all("y tế" in n.lower() for n in names), names
            await context.close()
        finally:
            await browser.close()
