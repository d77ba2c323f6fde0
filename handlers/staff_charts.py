"""KPI dashboard charts: the chart data as JSON for the page's script
(`static/staff_kpi.js`, drawn with the vendored Chart.js) and as CSV, within the officer's
jurisdiction. Category and stage names come in words from the Babel catalogues.

`GET /api/v1/staff/dashboard?from=&to=` → `{"period", "kpi", "weeks", "on_time", "open_by_age",
"workload", "words", "by_channel"}`; `GET /api/v1/staff/dashboard.csv?from=&to=` (and `/staff/dashboard.csv`)
→ one row per number: `chart, key, key_label, series, series_label, value` (audited as an export).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.calendar import VN_TZ
from core.channel_kpi import ChannelKpi
from core.dashboard import AGE_BOUNDS_DAYS, Dashboard
from core.errors import NotSignedIn
from core.kpi import Period
from core.staff import StaffContext
from core.stages import Stage
from handlers.i18n import language
from handlers.keys import SERVICES
from handlers.labels import category_label, channel_label, gettext, stage_label
from handlers.schemas import report_date
from handlers.staff_api import NO_STORE, require_staff
from handlers.staff_openapi import DashboardOut, StaffRoutes

routes = web.RouteTableDef()
api_routes = StaffRoutes(routes)
MAX_DAYS = 400
JUDGED = (Stage.VERIFIED, Stage.CLASSIFIED, Stage.PROCESSED)


class DashboardQuery(BaseModel):
    """`from` and `to` (dates, Viet Nam time, both included); default: the last 30 days."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start: date | None = Field(default=None, alias="from")
    end: date | None = Field(default=None, alias="to")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        """A query string carries text: `YYYY-MM-DD` between 2000 and 2100 (not `0`, which
        lax parsing reads as 1970, nor an empty value: leave it out for the default)."""
        return report_date(value)

    @model_validator(mode="after")
    def _short_enough(self) -> DashboardQuery:
        if self.start and self.end and (self.end - self.start).days > MAX_DAYS:
            raise ValueError(f"a dashboard covers at most {MAX_DAYS} days")
        return self

    def period(self, today: date) -> Period:
        end = self.end or today
        start = self.start or end - timedelta(days=29)
        if start > end:
            start, end = end, start
        return Period(start, end)


def age_labels() -> list[str]:
    edges = (0, *AGE_BOUNDS_DAYS)
    spans = [f"{lo}–{hi}" for lo, hi in zip(edges, AGE_BOUNDS_DAYS, strict=False)]
    return [*spans, f"{AGE_BOUNDS_DAYS[-1]}+"]


def chart_json(dash: Dashboard, period: Period, lang: str) -> dict[str, Any]:
    """The dashboard shaped for charts: labels in words, one array per series."""
    week_keys = sorted({w.week_start for w in dash.weeks})
    categories = sorted({w.category.value if w.category else "" for w in dash.weeks})
    counts = {(w.week_start, w.category.value if w.category else ""): w.received for w in dash.weeks}
    shares = dash.on_time_share()
    words = {
        key: gettext(lang, msgid)
        for key, msgid in {
            "weeks": "Tips per week by category",
            "on_time": "On-time share per stage",
            "open_by_age": "Open tips by age (days since received)",
            "workload": "Open tips per agency",
            "on_time_series": "On time",
            "at_risk": "At risk",
            "overdue": "Overdue",
            "tips": "Tips",
            "unclassified": "Not classified yet",
        }.items()
    }
    return {
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "kpi": dash.kpi.to_dict(),
        "weeks": {
            "labels": [d.isoformat() for d in week_keys],
            "series": [
                {
                    "category": c or None,
                    "label": category_label(lang, c) if c else words["unclassified"],
                    "values": [counts.get((d, c), 0) for d in week_keys],
                }
                for c in categories
            ],
        },
        "on_time": {
            "stages": [s.value for s in JUDGED],
            "labels": [stage_label(lang, s.value) for s in JUDGED],
            "values": [shares.get(s) for s in JUDGED],
        },
        "open_by_age": {"labels": age_labels(), "values": list(dash.open_by_age)},
        "workload": {
            "labels": [a.agency_code for a in dash.workload],
            "on_time": [a.open - a.at_risk - a.overdue for a in dash.workload],
            "at_risk": [a.at_risk for a in dash.workload],
            "overdue": [a.overdue for a in dash.workload],
        },
        "words": words,
    }


def channel_json(rows: Sequence[ChannelKpi], lang: str) -> list[dict[str, Any]]:
    """The KPI per channel with the channel's and stages' names in words."""
    return [
        {
            **row.to_dict(),
            "label": channel_label(lang, row.channel.value),
            "stage_labels": [stage_label(lang, s.stage.value) for s in row.stages],
        }
        for row in rows
    ]


def csv_rows(charts: dict[str, Any]) -> list[list[Any]]:
    """Every number of the charts, one per row (long format: easy to pivot)."""
    rows: list[list[Any]] = []
    weeks = charts["weeks"]
    for series in weeks["series"]:
        for week, value in zip(weeks["labels"], series["values"], strict=True):
            rows.append(["tips_per_week", week, week, series["category"] or "", series["label"], value])
    on_time = charts["on_time"]
    for stage, label, value in zip(on_time["stages"], on_time["labels"], on_time["values"], strict=True):
        rows.append(["on_time_share", stage, label, "", "", "" if value is None else round(value, 4)])
    for label, value in zip(charts["open_by_age"]["labels"], charts["open_by_age"]["values"], strict=True):
        rows.append(["open_by_age_days", label, label, "", "", value])
    load = charts["workload"]
    names = {"on_time": "on_time_series", "at_risk": "at_risk", "overdue": "overdue"}
    for i, agency in enumerate(load["labels"]):
        for series, word in names.items():
            rows.append(["workload", agency, agency, series, charts["words"][word], load[series][i]])
    for row in charts.get("by_channel", []):
        rows.append(["received_by_channel", row["channel"], row["label"], "", "", row["received"]])
        for stage, label in zip(row["stages"], row["stage_labels"], strict=True):
            share = stage["on_time_share"]
            rows.append(
                ["on_time_share_by_channel", row["channel"], row["label"], stage["stage"], label,
                 "" if share is None else share]
            )  # fmt: skip
    return rows


async def charts_for(
    request: web.Request, staff: StaffContext, *, exported: bool = False
) -> tuple[dict[str, Any], Period]:
    services = request.app[SERVICES]
    now = services.tips.clock()
    query = DashboardQuery.model_validate(dict(request.query))
    period = query.period(now.astimezone(VN_TZ).date())
    dash = await services.charts.dashboard(
        period, now, staff.jurisdiction, exported_by=staff.actor if exported else None
    )
    charts = chart_json(dash, period, language(request))
    by_channel = await services.channel_kpi(period, now, staff.jurisdiction)
    charts["by_channel"] = channel_json(by_channel, language(request))
    return charts, period


@api_routes.get(
    "/api/v1/staff/dashboard",
    "The KPI with the charts' data",
    ok=(200, "The dashboard", DashboardOut),
    query=DashboardQuery,
)
async def dashboard(request: web.Request) -> web.Response:
    """The KPI with the charts' data for a period, within the officer's jurisdiction."""
    charts, _ = await charts_for(request, await require_staff(request))
    return web.json_response(charts, headers=NO_STORE)


async def send_csv(request: web.Request, staff: StaffContext) -> web.Response:
    charts, period = await charts_for(request, staff, exported=True)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["chart", "key", "key_label", "series", "series_label", "value"])
    writer.writerows(csv_rows(charts))
    name = f"dashboard-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'},
    )


@api_routes.get(
    "/api/v1/staff/dashboard.csv",
    "The charts' numbers as CSV (audited)",
    ok=(200, "CSV", "text/csv"),
    query=DashboardQuery,
)
async def dashboard_csv(request: web.Request) -> web.Response:
    """The charts' numbers as CSV (audited as an export)."""
    return await send_csv(request, await require_staff(request))


@routes.get("/staff/dashboard.csv")
async def dashboard_csv_page(request: web.Request) -> web.Response:
    """The same download from the KPI page (a signed-out browser goes to sign in)."""
    try:
        staff = await require_staff(request)
    except NotSignedIn:
        raise web.HTTPSeeOther("/staff/login") from None
    return await send_csv(request, staff)
