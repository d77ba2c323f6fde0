"""What the KPI dashboard draws besides the KPI table: tips per week by category,
on-time share per stage, open tips by age, and workload per agency. Plain data; storage
computes it (`storage.dashboard_query`), the page draws it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from core.categories import Category
from core.kpi import KpiReport
from core.stages import Stage

#: Open tips by age, in days since receipt: [0, 1), [1, 3), [3, 7), [7, 14), [14, 30), 30+.
AGE_BOUNDS_DAYS: tuple[int, ...] = (1, 3, 7, 14, 30)


@dataclass(frozen=True)
class WeekCount:
    """Tips received in the week starting `week_start` (a Monday, Viet Nam time) that now
    have `category` (None: not classified yet)."""

    week_start: date
    category: Category | None
    received: int


@dataclass(frozen=True)
class AgencyLoad:
    """Open tips of the period's cohort an agency unit owns now, overdue and at risk."""

    agency_code: str
    open: int
    at_risk: int
    overdue: int


@dataclass(frozen=True)
class Dashboard:
    kpi: KpiReport
    #: Whole weeks that overlap the period, oldest first.
    weeks: tuple[WeekCount, ...]
    #: Open tips of the cohort by age (see AGE_BOUNDS_DAYS); sums to `kpi.totals.open`.
    open_by_age: tuple[int, ...]
    #: Busiest first.
    workload: tuple[AgencyLoad, ...]

    def on_time_share(self) -> dict[Stage, float | None]:
        """On time / (on time + late + overdue) per stage, as the KPI defines it."""
        out: dict[Stage, float | None] = {}
        for s in self.kpi.stages:
            if s.stage is Stage.RECEIVED:
                continue
            judged = s.on_time + s.late + s.overdue
            out[s.stage] = s.on_time / judged if judged else None
        return out

    def to_dict(self) -> dict[str, Any]:
        labels = [f"{lo}-{hi}" for lo, hi in zip((0, *AGE_BOUNDS_DAYS), AGE_BOUNDS_DAYS, strict=False)]
        labels.append(f"{AGE_BOUNDS_DAYS[-1]}+")
        return {
            "kpi": self.kpi.to_dict(),
            "weeks": [
                {
                    "week_start": w.week_start.isoformat(),
                    "category": w.category.value if w.category else None,
                    "received": w.received,
                }
                for w in self.weeks
            ],
            "on_time_share": {s.value: v for s, v in self.on_time_share().items()},
            "open_by_age_days": dict(zip(labels, self.open_by_age, strict=True)),
            "workload": [
                {"agency_code": a.agency_code, "open": a.open, "at_risk": a.at_risk, "overdue": a.overdue}
                for a in self.workload
            ],
        }


def week_start(week: int) -> date:
    """The Monday of week number `week` (weeks counted from the Monday before 1970-01-01)."""
    return date(1970, 1, 1) + timedelta(days=7 * week - 3)
