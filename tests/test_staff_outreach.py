"""Staff pages for outreach: the content library's review workflow, campaigns with their
progress and controls, reach with population denominators (also on the KPI page), and the
knowledge base's feedback counts; roles and CSRF."""

from __future__ import annotations

import re
from typing import Any

from core.officers import Role
from hotline.bootstrap import Services
from tests.conftest import COMMUNE, PROVINCE, add_staff
from tests.test_staff_pages import cookie, fetch, form


async def manager_headers(services: Services) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    admin = await add_staff(services, "admin", f"police:{PROVINCE}", PROVINCE, Role.ADMIN)
    supervisor = await add_staff(services, "sup", f"police:{PROVINCE}", PROVINCE, Role.SUPERVISOR)
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    return admin, supervisor, officer


async def test_roles_and_sign_in(client: Any, services: Services) -> None:
    admin, supervisor, officer = await manager_headers(services)
    for path in ("/staff/content", "/staff/campaigns", "/staff/reach", "/staff/knowledge"):
        assert (await fetch(client, "GET", path, {})).status == 303  # to the sign-in page
        assert (await fetch(client, "GET", path, cookie(officer))).status == 403
        assert (await fetch(client, "GET", path, cookie(supervisor))).status == 200
        resp = await fetch(client, "GET", path, cookie(admin))
        assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
    queue = await (await fetch(client, "GET", "/staff/", cookie(officer))).text()
    assert 'href="/staff/content"' not in queue
    assert 'href="/staff/content"' in await (await fetch(client, "GET", "/staff/", cookie(admin))).text()


async def test_content_review_publish_and_campaign(client: Any, services: Services) -> None:
    admin, supervisor, _ = await manager_headers(services)
    fields = form(
        supervisor,
        audience="student",
        language="vi",
        title="Việc nhẹ lương cao?",
        text="Cẩn thận với lời mời <b>việc nhẹ lương cao</b> ở nước ngoài.",
    )
    resp = await fetch(client, "POST", "/staff/content", cookie(supervisor), data=fields)
    assert resp.status == 303
    item_path = resp.headers["Location"]
    item_id = int(item_path.rsplit("/", 1)[1])
    page = await (await fetch(client, "GET", item_path, cookie(admin))).text()
    assert "&lt;b&gt;việc nhẹ lương cao&lt;/b&gt;" in page and "officer:sup" in page  # escaped, author shown
    # the preview per channel: Telegram shows the bold, Zalo and the library plain text
    assert "<b>việc nhẹ lương cao</b>" in page and "Cẩn thận với lời mời việc nhẹ lương cao ở" in page
    form_page = await (await fetch(client, "GET", "/staff/content", cookie(supervisor))).text()
    assert "định dạng Telegram: &lt;b&gt;, &lt;i&gt;, &lt;a href&gt;)" in form_page  # the label is text

    # publishing a draft is refused: it needs a review first
    resp = await fetch(client, "POST", f"{item_path}/publish", cookie(admin), data=form(admin))
    assert resp.status == 409
    for action in ("review", "publish"):
        resp = await fetch(client, "POST", f"{item_path}/{action}", cookie(admin), data=form(admin))
        assert resp.status == 303, action
    item = await services.outreach.get_item(item_id)
    assert item.state.value == "published" and item.reviewed and item.reviewed.by == "officer:admin"
    listing = await (await fetch(client, "GET", "/staff/content?state=published", cookie(admin))).text()
    assert f'href="/staff/content/{item_id}"' in listing

    # a campaign, scheduled in Viet Nam's time, then paused, resumed and cancelled
    fields = form(admin, item_id=str(item_id), audience="student", send_at="2026-03-10T08:00")
    resp = await fetch(client, "POST", "/staff/campaigns", cookie(admin), data=fields)
    assert resp.status == 303
    campaign_path = resp.headers["Location"]
    campaign_id = int(campaign_path.rsplit("/", 1)[1])
    campaign = await services.outreach.get_campaign(campaign_id)
    assert campaign.scheduled_at.isoformat() == "2026-03-10T01:00:00+00:00" and campaign.audience == "student"
    page = await (await fetch(client, "GET", campaign_path, cookie(admin))).text()
    assert "<progress" in page and "10/03/2026 08:00" in page
    for action, state in (("pause", "paused"), ("resume", "scheduled"), ("cancel", "cancelled")):
        resp = await fetch(client, "POST", f"{campaign_path}/{action}", cookie(admin), data=form(admin))
        assert resp.status == 303, action
        assert (await services.outreach.get_campaign(campaign_id)).state.value == state
    resp = await fetch(client, "POST", f"{campaign_path}/resume", cookie(admin), data=form(admin))
    assert resp.status == 409
    listing = await (await fetch(client, "GET", "/staff/campaigns", cookie(admin))).text()
    assert f'href="/staff/campaigns/{campaign_id}"' in listing

    # refusals re-render with the reason; unknown things are 404
    bad = form(admin, item_id="999999", audience="student")  # a field naming no item: the form again
    assert (await fetch(client, "POST", "/staff/campaigns", cookie(admin), data=bad)).status == 422
    bad = form(admin, item_id=str(item_id), audience="teacher")
    resp = await fetch(client, "POST", "/staff/campaigns", cookie(admin), data=bad)
    assert resp.status == 422 and "audience" in await resp.text()
    assert (await fetch(client, "GET", "/staff/content/999999", cookie(admin))).status == 404
    assert (
        await fetch(client, "POST", f"{item_path}/explode", cookie(admin), data=form(admin))
    ).status == 404


async def test_every_form_wants_the_session_csrf_token(client: Any, services: Services) -> None:
    admin, _, _ = await manager_headers(services)
    before = len(await services.outreach.list_items())  # the shipped starter set
    forged = {"csrf_token": "x" * 43, "audience": "student", "language": "vi", "text": "x"}
    assert (await fetch(client, "POST", "/staff/content", cookie(admin), data=forged)).status == 403
    forged = {"csrf_token": "x" * 43, "audience": "student", "count": "10"}
    assert (await fetch(client, "POST", "/staff/reach/population", cookie(admin), data=forged)).status == 403
    assert len(await services.outreach.list_items()) == before and await services.reach.populations() == []


async def test_reach_page_populations_and_kpi_section(client: Any, services: Services) -> None:
    admin, supervisor, officer = await manager_headers(services)
    data = form(admin, audience="student", count="120000")
    assert (await fetch(client, "POST", "/staff/reach/population", cookie(admin), data=data)).status == 303
    data = form(admin, audience="worker", count="500", area_code=COMMUNE)
    assert (await fetch(client, "POST", "/staff/reach/population", cookie(admin), data=data)).status == 303
    data = form(supervisor, audience="student", count="1")
    assert (
        await fetch(client, "POST", "/staff/reach/population", cookie(supervisor), data=data)
    ).status == 403
    data = form(admin, audience="student", count="0")
    assert (await fetch(client, "POST", "/staff/reach/population", cookie(admin), data=data)).status == 422
    populations = {(p.audience, p.area_code): p.population for p in await services.reach.populations()}
    assert populations == {("student", PROVINCE): 120000, ("worker", COMMUNE): 500}

    page = await (
        await fetch(client, "GET", "/staff/reach?from=2026-03-01&to=2026-03-31", cookie(supervisor))
    ).text()
    assert "120.000" in page and "Dưới chỉ tiêu" in page and "50%–60%" in page
    assert 'action="/staff/reach/population"' not in page  # supervisors read, administrators edit
    commune = await (await fetch(client, "GET", f"/staff/reach?area={COMMUNE}", cookie(admin))).text()
    assert re.search(r"Công nhân khu công nghiệp</td><td[^>]*>0</td><td[^>]*>500</td>", commune)

    local = await add_staff(services, "phuong", f"police:{COMMUNE}", COMMUNE, Role.SUPERVISOR)
    page = await (await fetch(client, "GET", f"/staff/reach?area={PROVINCE}", cookie(local))).text()
    assert f'Địa bàn: <span title="{COMMUNE}">Phường Bến Thành</span>' in page  # their commune only
    assert (
        f'Địa bàn: <span title="{PROVINCE}">'
        in await (await fetch(client, "GET", "/staff/reach", cookie(admin))).text()
    )

    kpi = await (await fetch(client, "GET", "/staff/kpi", cookie(admin))).text()
    assert "Độ bao phủ của tin phòng ngừa" in kpi and "120.000" in kpi
    kpi = await (await fetch(client, "GET", "/staff/kpi", cookie(officer))).text()
    assert "Độ bao phủ của tin phòng ngừa" not in kpi


async def test_knowledge_feedback_page(client: Any, services: Services) -> None:
    admin, _, _ = await manager_headers(services)
    await services.answers.feedback("legal-aid", "vi", False)
    await services.answers.feedback("hiv-test-where", "en", True)
    page = await (await fetch(client, "GET", "/staff/knowledge", cookie(admin))).text()
    assert page.index("legal-aid") < page.index("hiv-test-where")  # least helpful first
    assert "Where can I get an HIV test?" in page
