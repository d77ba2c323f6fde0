"""The KPI: did each tip reach each stage by its deadline?

For a cohort (tips received in a period, within a scope), each progress stage splits the
cohort into: reached on time, reached late, not reached and still within time, not reached
and overdue, and not applicable (closed as duplicate/spam/unfounded before reaching it).
The on-time share is on time / (on time + late + overdue): tips still within their time
have not failed yet, and closed ones never count against the share.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from core.calendar import VN_TZ
from core.errors import InvalidInput
from core.sla import deadline_state
from core.stages import CLOSING_EXITS, PROGRESS, Stage
from core.tips import Tip


@dataclass(frozen=True)
class KpiScope:
    """Which tips count: all of the deployment, one agency, or one commune/ward."""

    agency_code: str | None = None
    commune_code: str | None = None

    def describe(self) -> str:
        parts = []
        if self.agency_code:
            parts.append(f"agency {self.agency_code}")
        if self.commune_code:
            parts.append(f"commune {self.commune_code}")
        return ", ".join(parts) or "province"


@dataclass(frozen=True)
class Period:
    """Whole days in Viet Nam's time, both ends included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidInput("the period ends before it starts")

    def bounds(self) -> tuple[datetime, datetime]:
        """[first midnight, midnight after the last day) in Viet Nam's time."""
        lo = datetime.combine(self.start, time(0), tzinfo=VN_TZ)
        hi = datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=VN_TZ)
        return lo, hi


@dataclass(frozen=True)
class StageKpi:
    stage: Stage
    on_time: int
    late: int
    open_within_time: int
    overdue: int
    not_applicable: int
    median_seconds: float | None

    @property
    def judged(self) -> int:
        return self.on_time + self.late + self.overdue

    @property
    def on_time_share(self) -> float | None:
        return None if self.judged == 0 else self.on_time / self.judged


@dataclass(frozen=True)
class KpiTotals:
    received: int
    open: int
    at_risk: int
    overdue: int
    closed: dict[str, int]


@dataclass(frozen=True)
class KpiReport:
    period: Period
    scope: KpiScope
    as_of: datetime
    totals: KpiTotals
    stages: tuple[StageKpi, ...]

    def stage(self, stage: Stage) -> StageKpi:
        return next(s for s in self.stages if s.stage is stage)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form, the same for the CLI, the API and reports."""
        return {
            "period": {"from": self.period.start.isoformat(), "to": self.period.end.isoformat()},
            "scope": {
                "agency": self.scope.agency_code,
                "commune": self.scope.commune_code,
                "label": self.scope.describe(),
            },
            "as_of": self.as_of.isoformat(),
            "totals": asdict(self.totals),
            "stages": [
                {
                    "stage": s.stage.value,
                    "on_time": s.on_time,
                    "late": s.late,
                    "open_within_time": s.open_within_time,
                    "overdue": s.overdue,
                    "not_applicable": s.not_applicable,
                    "on_time_share": None if s.on_time_share is None else round(s.on_time_share, 4),
                    "median_hours": None if s.median_seconds is None else round(s.median_seconds / 3600, 2),
                }
                for s in self.stages
            ],
        }


def classify(tip: Tip, stage: Stage, now: datetime) -> str:
    """Which KPI column one tip falls in for one stage (the rule the SQL implements)."""
    reached = tip.reached.get(stage)
    if stage is Stage.RECEIVED:
        return "on_time"
    due = tip.due[stage]
    if reached is not None:
        return "on_time" if reached <= due else "late"
    if tip.stage in CLOSING_EXITS:
        return "not_applicable"
    return "overdue" if now > due else "open_within_time"


def kpi_from_tips(
    tips: Iterable[Tip], period: Period, scope: KpiScope, now: datetime, at_risk_fraction: float
) -> KpiReport:
    """Reference KPI in plain Python: small data sets, fakes, and checking the SQL."""
    lo, hi = period.bounds()
    cohort = [
        t
        for t in tips
        if lo <= t.received_at < hi
        and (scope.agency_code is None or t.agency_code == scope.agency_code)
        and (scope.commune_code is None or t.commune_code == scope.commune_code)
    ]
    stages = []
    for stage in PROGRESS:
        counts = {"on_time": 0, "late": 0, "open_within_time": 0, "overdue": 0}
        counts["not_applicable"] = 0
        durations: list[int] = []
        for tip in cohort:
            counts[classify(tip, stage, now)] += 1
            if stage in tip.reached:
                durations.append(whole_seconds(tip.received_at, tip.reached[stage]))
        stages.append(StageKpi(stage=stage, median_seconds=median(durations), **counts))
    open_tips = [t for t in cohort if not t.is_closed]
    at_risk = overdue = 0
    for tip in open_tips:
        due = tip.next_due()
        if due is None:
            continue
        state = deadline_state(now, tip.received_at, due, at_risk_fraction)
        at_risk += state == "at_risk"
        overdue += state == "overdue"
    closed: dict[str, int] = {}
    for tip in cohort:
        if tip.is_closed:
            closed[tip.stage.value] = closed.get(tip.stage.value, 0) + 1
    totals = KpiTotals(
        received=len(cohort), open=len(open_tips), at_risk=at_risk, overdue=overdue, closed=closed
    )
    return KpiReport(period=period, scope=scope, as_of=now, totals=totals, stages=tuple(stages))


def whole_seconds(earlier: datetime, later: datetime) -> int:
    """Time to a stage in whole seconds: the KPI's unit (storage keeps the same figure)."""
    return int((later - earlier).total_seconds())


def median(values: Sequence[float]) -> float | None:
    """Median as PostgreSQL's percentile_cont(0.5) computes it (mean of the middle two)."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
