"""Exports and the audit log: the KPI CSV counts only the officer's jurisdiction and is
audited; only administrators read the audit log, and reading it is audited too."""

from __future__ import annotations

import csv
import io
from typing import Any

from core.categories import Category
from core.officers import Role
from hotline.bootstrap import Services
from tests.builders import submit
from tests.conftest import COMMUNE, PROVINCE, REMOTE_COMMUNE, add_staff

CSV = "/api/v1/staff/kpi.csv?from=2026-03-01&to=2026-03-31"


async def test_kpi_csv_is_scoped_and_audited(client: Any, services: Services) -> None:
    await submit(services.intake, category=Category.VENUE, commune_code=COMMUNE)
    await submit(services.intake, category=Category.VENUE, commune_code=REMOTE_COMMUNE)
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    admin = await add_staff(services, "admin", f"police:{PROVINCE}", PROVINCE, Role.ADMIN)
    resp = await client.get(CSV, headers=officer)
    assert resp.status == 200 and resp.content_type == "text/csv"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="kpi-2026-03-01-2026-03-31.csv"'
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert [r["stage"] for r in rows] == ["received", "verified", "classified", "processed"]
    assert [r["stage_label"] for r in rows] == ["Mới tiếp nhận", "Đã xác minh", "Đã phân loại", "Đã xử lý"]
    assert rows[1]["open_within_time"] == "1"  # one tip of theirs, waiting for verification
    rows = list(csv.DictReader(io.StringIO(await (await client.get(CSV, headers=admin)).text())))
    assert rows[1]["open_within_time"] == "2"
    page = await client.get("/staff/kpi.csv?from=2026-03-01&to=2026-03-31", headers=officer)
    assert page.status == 200 and page.content_type == "text/csv"
    assert (await client.get(CSV)).status == 401

    log = await (await client.get("/api/v1/staff/audit", headers=admin)).json()
    exports = [(e["actor"], e["detail"]) for e in log["items"] if e["action"] == "export"]
    assert (
        exports
        == [
            ("officer:lan", "kpi 2026-03-01..2026-03-31 province"),
            ("officer:admin", "kpi 2026-03-01..2026-03-31 province"),
            ("officer:lan", "kpi 2026-03-01..2026-03-31 province"),
        ][::-1]
    )


async def test_only_admins_read_the_audit_log(client: Any, services: Services) -> None:
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    supervisor = await add_staff(services, "minh", f"police:{PROVINCE}", PROVINCE, Role.SUPERVISOR)
    for headers in (officer, supervisor):
        resp = await client.get("/api/v1/staff/audit", headers=headers)
        assert resp.status == 403
        assert (await resp.json())["error"]["code"] == "forbidden"
    admin = await add_staff(services, "admin", f"police:{PROVINCE}", PROVINCE, Role.ADMIN)
    first = await (await client.get("/api/v1/staff/audit?limit=2", headers=admin)).json()
    assert [e["action"] for e in first["items"]] == ["login", "login"]
    assert [e["actor"] for e in first["items"]] == ["officer:admin", "officer:minh"]
    rest = await (
        await client.get(f"/api/v1/staff/audit?limit=2&before={first['next']}", headers=admin)
    ).json()
    assert [(e["actor"], e["action"]) for e in rest["items"]] == [("officer:lan", "login")]
    assert rest["next"] is None
    again = await (await client.get("/api/v1/staff/audit?limit=1", headers=admin)).json()
    assert again["items"][0]["action"] == "audit_read"
    assert (await client.get("/api/v1/staff/audit?limit=0", headers=admin)).status == 422
