"""The KPI in SQL: one aggregate pass for the counts, one index walk per stage for medians.

Counts are `count(*) FILTER (...)` over the cohort in a single pass (PostgreSQL runs it in
parallel). Medians do not sort the cohort: each tip stores whole seconds from receipt to
each stage it reached (`verified_secs`, ...), indexed together with the cohort columns, so
the middle value is read by walking that index in order and skipping to the middle rank
(an index-only scan that stops half-way). `core.kpi.kpi_from_tips` is the definition; tests
check this against it on both databases (medians to the second).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import ColumnElement

from core.kpi import KpiReport, KpiScope, KpiTotals, Period, StageKpi
from core.stages import CLOSING_EXITS, TERMINAL, Stage
from storage.models import TipRow

REACHED = {
    Stage.VERIFIED: TipRow.verified_at,
    Stage.CLASSIFIED: TipRow.classified_at,
    Stage.PROCESSED: TipRow.processed_at,
}
DUE = {
    Stage.VERIFIED: TipRow.verified_due_at,
    Stage.CLASSIFIED: TipRow.classified_due_at,
    Stage.PROCESSED: TipRow.processed_due_at,
}
SECONDS = {
    Stage.VERIFIED: TipRow.verified_secs,
    Stage.CLASSIFIED: TipRow.classified_secs,
    Stage.PROCESSED: TipRow.processed_secs,
}
TERMINAL_ORDER = sorted(s.value for s in TERMINAL)


def cohort(period: Period, scope: KpiScope) -> list[ColumnElement[bool]]:
    lo, hi = period.bounds()
    where: list[ColumnElement[bool]] = [TipRow.received_at >= lo, TipRow.received_at < hi]
    if scope.agency_code:
        where.append(TipRow.agency_code == scope.agency_code)
    if scope.commune_code:
        where.append(TipRow.commune_code == scope.commune_code)
    return where


def counts_query(where: list[ColumnElement[bool]], now: datetime) -> sa.Select[Any]:
    return sa.select(*count_columns(now)).where(*where)


def count_columns(now: datetime) -> list[ColumnElement[Any]]:
    """The KPI's counts, in this order: received; per stage on time, late, open within
    time, overdue, not applicable; open, at risk, overdue; closed per terminal stage.
    Only tips that are not closed have counts that depend on `now`."""
    now_param = sa.bindparam("now", now, type_=TipRow.received_at.type)
    closing = [s.value for s in CLOSING_EXITS]

    def count(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return sa.func.count().filter(condition)

    columns: list[ColumnElement[Any]] = [sa.func.count()]
    for stage, reached in REACHED.items():
        due = DUE[stage]
        unreached_open = sa.and_(reached.is_(None), TipRow.stage.not_in(closing))
        columns += [
            count(reached <= due),
            count(reached > due),
            count(sa.and_(unreached_open, due >= now_param)),
            count(sa.and_(unreached_open, due < now_param)),
            count(sa.and_(reached.is_(None), TipRow.stage.in_(closing))),
        ]
    is_open = TipRow.stage.not_in(TERMINAL_ORDER)
    columns += [
        count(is_open),
        count(sa.and_(is_open, TipRow.at_risk_at <= now_param, TipRow.next_due_at >= now_param)),
        count(sa.and_(is_open, TipRow.next_due_at < now_param)),
    ]
    columns += [count(TipRow.stage == value) for value in TERMINAL_ORDER]
    return columns


async def median_seconds(
    session: AsyncSession, stage: Stage, where: list[ColumnElement[bool]], reached: int
) -> float | None:
    """The middle one or two durations, as `core.kpi.median` takes them."""
    if reached == 0:
        return None
    seconds = SECONDS[stage]
    middle = [
        value
        for value in await session.scalars(
            sa.select(seconds)
            .where(*where, seconds.is_not(None))
            .order_by(seconds)
            .offset((reached - 1) // 2)
            .limit(2 - reached % 2)
        )
        if value is not None
    ]
    return sum(middle) / len(middle) if middle else None


async def compute_kpi(
    session: AsyncSession,
    period: Period,
    scope: KpiScope,
    now: datetime,
    within: Sequence[ColumnElement[bool]] = (),
) -> KpiReport:
    """`within`: the jurisdiction's conditions (storage.scoping), added to the cohort."""
    where = [*cohort(period, scope), *within]
    row = [int(v) for v in (await session.execute(counts_query(where, now))).one()]
    received = row[0]
    stages = [StageKpi(Stage.RECEIVED, received, 0, 0, 0, 0, 0.0 if received else None)]
    for i, stage in enumerate(REACHED):
        on_time, late, open_, overdue, na = row[1 + 5 * i : 6 + 5 * i]
        median = await median_seconds(session, stage, where, on_time + late)
        stages.append(StageKpi(stage, on_time, late, open_, overdue, na, median))
    base = 1 + 5 * len(REACHED)
    totals = KpiTotals(
        received=received,
        open=row[base],
        at_risk=row[base + 1],
        overdue=row[base + 2],
        closed={value: n for value, n in zip(TERMINAL_ORDER, row[base + 3 :], strict=True) if n},
    )
    return KpiReport(period=period, scope=scope, as_of=now, totals=totals, stages=tuple(stages))
