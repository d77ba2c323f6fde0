"""KPI dashboard charts over HTTP: the chart data as JSON and CSV within the jurisdiction,
category and stage names in words, the export audited; the KPI page keeps its tables
without JavaScript and loads Chart.js from our own static files only."""

from __future__ import annotations

import csv
import io
from typing import Any

import sqlalchemy as sa

from core.categories import Category
from core.officers import Role
from hotline.bootstrap import Services
from storage.models import AuditRow
from tests.builders import submit
from tests.conftest import COMMUNE, PROVINCE, REMOTE_COMMUNE, add_staff

PERIOD = "from=2026-02-01&to=2026-03-31"


async def test_dashboard_json_is_scoped_and_in_words(client: Any, services: Services) -> None:
    await submit(services.intake, category=Category.VENUE, commune_code=COMMUNE)
    await submit(services.intake, category=Category.TRAFFICKING, commune_code=COMMUNE)
    await submit(services.intake, category=Category.VENUE, commune_code=REMOTE_COMMUNE)
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    admin = await add_staff(services, "boss", f"police:{PROVINCE}", PROVINCE, Role.ADMIN)

    resp = await client.get(f"/api/v1/staff/dashboard?{PERIOD}", headers=officer)
    assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
    mine = await resp.json()
    series = {s["category"]: s for s in mine["weeks"]["series"]}
    assert set(series) == {"venue", "trafficking"}
    assert series["trafficking"]["label"] == "Mua bán người" and sum(series["venue"]["values"]) == 1
    assert mine["workload"]["labels"] == [f"police:{COMMUNE}"]
    assert sum(mine["open_by_age"]["values"]) == mine["kpi"]["totals"]["open"] == 2
    assert mine["on_time"]["stages"] == ["verified", "classified", "processed"]
    assert mine["on_time"]["labels"][0] == "Đã xác minh"

    everything = await (await client.get(f"/api/v1/staff/dashboard?{PERIOD}", headers=admin)).json()
    assert sum(sum(s["values"]) for s in everything["weeks"]["series"]) == 3
    assert set(everything["workload"]["labels"]) == {f"police:{COMMUNE}", f"police:{REMOTE_COMMUNE}"}

    english = {**officer, "Cookie": officer["Cookie"] + "; lang=en"}
    words = await (await client.get(f"/api/v1/staff/dashboard?{PERIOD}", headers=english)).json()
    assert {s["label"] for s in words["weeks"]["series"]} == {"Venue", "Trafficking"}

    too_long = await client.get("/api/v1/staff/dashboard?from=2024-01-01&to=2026-03-31", headers=officer)
    assert too_long.status == 422
    assert (await client.get(f"/api/v1/staff/dashboard?{PERIOD}")).status == 401


async def test_dashboard_csv_has_every_number_and_is_audited(client: Any, services: Services) -> None:
    await submit(services.intake, category=Category.MINOR, commune_code=COMMUNE)
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    resp = await client.get(f"/api/v1/staff/dashboard.csv?{PERIOD}", headers=officer)
    assert resp.status == 200 and resp.content_type == "text/csv"
    assert 'filename="dashboard-2026-02-01-2026-03-31.csv"' in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    charts = {r["chart"] for r in rows}
    assert charts == {
        "tips_per_week",
        "on_time_share",
        "open_by_age_days",
        "workload",
        "received_by_channel",
        "on_time_share_by_channel",
    }
    by_channel = {r["key"]: r for r in rows if r["chart"] == "received_by_channel"}
    assert by_channel["web"]["value"] == "1" and by_channel["phone"]["key_label"] == "Điện thoại"
    weekly = [r for r in rows if r["chart"] == "tips_per_week"]
    assert [(r["series"], r["series_label"], r["value"]) for r in weekly] == [
        ("minor", "Có người chưa thành niên", "1")
    ]
    async with services.engine.connect() as conn:
        exports = (
            await conn.execute(sa.select(AuditRow.actor, AuditRow.detail).where(AuditRow.action == "export"))
        ).all()
    assert [(r.actor, r.detail) for r in exports] == [("officer:lan", "dashboard 2026-02-01..2026-03-31")]
    page = await client.get(f"/staff/dashboard.csv?{PERIOD}", headers={"Cookie": officer["Cookie"]})
    assert page.status == 200 and page.content_type == "text/csv"
    assert (await client.get(f"/staff/dashboard.csv?{PERIOD}", allow_redirects=False)).status == 303


async def test_kpi_page_keeps_tables_and_loads_charts_from_our_static_files(
    client: Any, services: Services
) -> None:
    await submit(services.intake, category=Category.VENUE, commune_code=COMMUNE)
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    page = await client.get(f"/staff/kpi?{PERIOD}", headers={"Cookie": officer["Cookie"]})
    html = await page.text()
    assert page.status == 200
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe" not in csp and "connect-src 'self'" in csp
    for canvas in ("chart-weeks", "chart-on-time", "chart-age", "chart-workload"):
        assert f'id="{canvas}"' in html
    assert html.count('chart-table"') == 4 and "Cơ sở kinh doanh" in html  # the no-JS view
    assert '<script src="/static/vendor/chartjs/chart.umd.min.js" defer></script>' in html
    assert "<script>" not in html and "http://" not in html.replace("http://www.w3.org", "")
    assert "https://" not in html
    vendored = await client.get("/static/vendor/chartjs/chart.umd.min.js")
    assert vendored.status == 200 and "Chart.js v4.6.1" in (await vendored.text())[:200]
    script = await client.get("/static/staff_kpi.js")
    assert script.status == 200 and "/api/v1/staff/dashboard" in await script.text()
