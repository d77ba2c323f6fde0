"""What an officer reads in a tip's history and in the activity log: sentences with names
and Vietnamese dates, never the stored notes (JSON details, "hotspot 4 dealing", ISO dates,
`officer:lan`). Fast HTTP checks; the browser test looks at every page as well."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from core.categories import Category
from core.officers import Role
from core.services import TransitionRequest
from core.stages import Stage
from hotline.bootstrap import Services
from tests.builders import draft
from tests.conftest import COMMUNE, PROVINCE, FakeClock, add_staff
from tests.test_staff_audit_page import cookie, fetch, fill
from tests.test_web_api import jpeg

#: Stored notes that must not reach the page as they are.
RAW = re.compile(r"\{\"|\b\d{4}-\d{2}-\d{2}\b|\b(hotspot|establishment|late entry|rows|added|tips into)\b")


def step(target: Stage, reason: str = "", **kw: Any) -> TransitionRequest:
    return TransitionRequest(target=target, actor="officer:lan", reason=reason, **kw)


async def test_a_tips_history_reads_as_sentences(client: Any, services: Services, clock: FakeClock) -> None:
    lan = await add_staff(services, "lan", f"police:{PROVINCE}", PROVINCE, Role.ADMIN)
    tip = (
        await services.intake.submit(draft(commune_code=COMMUNE, category=Category.VENUE), files=[jpeg()])
    ).tip_id
    await services.tips.transition(tip, step(Stage.VERIFIED))
    await services.tips.extend_deadline(tip, actor="officer:lan", reason="Chờ kết quả xác minh")
    _areas, agencies = await services.staff.directory()
    health = next(code for code in agencies if code.startswith("health:"))
    await services.tips.transition(tip, step(Stage.REFERRED, "Cần hỗ trợ y tế", to_agency=health))
    html = await (await fetch(client, "GET", f"/staff/tips/{tip}", cookie(lan))).text()
    assert re.search(r'1\. <span title="image/jpeg">Ảnh</span>, \d+,\d KB', html)  # a file in words
    history = html[
        html.index('<ol class="history">') : html.index("</ol>", html.index('<ol class="history">'))
    ]
    text = re.sub(r"<[^>]+>", "", history)
    assert "người báo tin (trang web) gửi tin báo" in text
    assert "cán bộ lan chuyển tin sang «Đã xác minh»" in text
    assert re.search(
        r"cán bộ lan gia hạn thời hạn xử lý tin đến ngày \d\d/\d\d/\d{4}\. Lý do: Chờ kết quả xác minh", text
    )
    assert f"cán bộ lan chuyển tin đến {agencies[health]}. Lý do: Cần hỗ trợ y tế" in text
    assert not RAW.search(text) and "→ Đã" not in text


async def test_the_activity_log_details_in_words(client: Any, services: Services, clock: FakeClock) -> None:
    admin = await add_staff(services, "quantri", f"police:{PROVINCE}", PROVINCE, Role.ADMIN)
    at = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    notes = {
        "hotspot_move": ("hotspot 4 dealing", "Tụ điểm #4 → Đang xử lý"),
        "establishment_add": ("establishment 7", "Cơ sở kinh doanh #7"),
        "establishment_import": ("rows 12 added 9", "đọc 12 dòng, thêm 9 cơ sở"),
        "register": ("phone; late entry: Mất điện", "Kênh tiếp nhận: điện thoại; nhập muộn"),
        "password_reset": ("officer:lan", "Tài khoản: cán bộ lan"),
        "login_failed": ("otp,locked", "sai mã xác thực; tài khoản bị khóa"),
        "export": (
            "kpi 2026-02-01..2026-03-02 province",
            "bảng chỉ tiêu từ 01/02/2026 đến 02/03/2026 · toàn tỉnh",
        ),
        "support_referred": ("case 3", "Yêu cầu hỗ trợ #3"),
    }
    for action, (detail, _words) in notes.items():
        await fill(services, 1, at, action=action, detail=detail)
    html = await (await fetch(client, "GET", "/staff/audit", cookie(admin))).text()
    rows = html[html.index("<tbody>") : html.index("</tbody>")]
    text = re.sub(r"<[^>]+>", "", rows)
    for action, (detail, words) in notes.items():
        assert words in text, (action, words)
        assert f'title="{detail}"' in rows  # the stored note stays in the tooltip
    assert not RAW.search(text)
    assert "02/03/2026 03:00" in text  # 20:00 UTC is 03:00 the next morning in Viet Nam


async def test_a_refused_form_says_why_in_vietnamese(client: Any, services: Services) -> None:
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    fields = {
        "csrf_token": officer["X-CSRF-Token"],
        "name": "Quán Đôi",
        "kind": "bar",
        "commune_code": COMMUNE,
    }
    first = await fetch(client, "POST", "/staff/establishments", cookie(officer), data=fields)
    assert first.status == 303
    again = await fetch(client, "POST", "/staff/establishments", cookie(officer), data=fields)
    html = await again.text()
    assert again.status == 422 and "cơ sở này đã có trong danh sách." in html
    blank = await fetch(client, "POST", "/staff/establishments", cookie(officer), data={**fields, "name": ""})
    html = await blank.text()
    alert = re.sub(
        r"<[^>]+>", "", html[html.index('role="alert"') : html.index("</div>", html.index('role="alert"'))]
    )
    assert blank.status == 422 and "Tên" in alert and "name" not in alert
