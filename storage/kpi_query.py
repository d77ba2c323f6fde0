"""The KPI in SQL: one grouped pass over the cohort, then one narrow pass for exact medians.

Each tip is unpivoted into four rows — one per deadline stage (its outcome code and, when the
stage was reached, the minute bucket of its time from receipt) and one for the totals (its
open/at-risk/overdue/closed state) — and grouped. Counts come straight from the groups; the
minute histograms say which bucket holds the median, and a second pass reads only the
durations in those buckets to get the exact value. A million-tip cohort is thus scanned
twice, with no sort of the whole cohort (see docs/benchmarks.md).

PostgreSQL unpivots with `unnest` in one (parallel) scan; SQLite, which has no LATERAL, with
UNION ALL. `core.kpi.kpi_from_tips` is the definition; tests check this against it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement

from core.kpi import KpiReport, KpiScope, KpiTotals, Period, StageKpi
from core.stages import CLOSING_EXITS, TERMINAL, Stage
from storage.models import TipRow
from storage.types import SecondsBetween

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
STAGE_NO = {stage: i for i, stage in enumerate(REACHED, start=1)}
TOTALS_NO = 0

ON_TIME, LATE, OPEN, OVERDUE, NOT_APPLICABLE = 1, 2, 3, 4, 5
STILL_OPEN, AT_RISK, OPEN_OVERDUE = 10, 11, 12
TERMINAL_ORDER = sorted(s.value for s in TERMINAL)
CLOSED_BASE = 20  # 20 + index in TERMINAL_ORDER


class MinuteBucket(ColumnElement[int]):
    """floor(seconds / 60): monotonic in the duration, so buckets keep the order of values."""

    inherit_cache = True
    type = sa.BigInteger()

    def __init__(self, seconds: ColumnElement[Any]) -> None:
        self.seconds = seconds


@compiles(MinuteBucket, "postgresql")
def _bucket_pg(element: MinuteBucket, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(floor(({compiler.process(element.seconds, **kw)}) / 60.0) AS BIGINT)"


@compiles(MinuteBucket, "sqlite")
def _bucket_sqlite(element: MinuteBucket, compiler: SQLCompiler, **kw: Any) -> str:
    # Durations are never negative, so truncation is the floor.
    return f"CAST(({compiler.process(element.seconds, **kw)}) / 60.0 AS INTEGER)"


def duration(stage: Stage) -> ColumnElement[float]:
    return SecondsBetween(REACHED[stage], TipRow.received_at)


def bucket(stage: Stage) -> ColumnElement[int]:
    return MinuteBucket(duration(stage))


def outcome(stage: Stage, now: ColumnElement[datetime]) -> ColumnElement[int]:
    reached, due = REACHED[stage], DUE[stage]
    return sa.case(
        (sa.and_(reached.is_not(None), reached <= due), ON_TIME),
        (reached.is_not(None), LATE),
        (TipRow.stage.in_([s.value for s in CLOSING_EXITS]), NOT_APPLICABLE),
        (due < now, OVERDUE),
        else_=OPEN,
    )


def state(now: ColumnElement[datetime]) -> ColumnElement[int]:
    closed = [
        (TipRow.stage == value, CLOSED_BASE + i) for i, value in enumerate(TERMINAL_ORDER)
    ]
    return sa.case(
        *closed,
        (TipRow.next_due_at < now, OPEN_OVERDUE),
        (TipRow.at_risk_at <= now, AT_RISK),
        else_=STILL_OPEN,
    )


def cohort(period: Period, scope: KpiScope) -> list[ColumnElement[bool]]:
    lo, hi = period.bounds()
    where: list[ColumnElement[bool]] = [TipRow.received_at >= lo, TipRow.received_at < hi]
    if scope.agency_code:
        where.append(TipRow.agency_code == scope.agency_code)
    if scope.commune_code:
        where.append(TipRow.commune_code == scope.commune_code)
    return where


def grouped_query(dialect: str, where: list[ColumnElement[bool]], now: datetime) -> sa.Select[Any]:
    now_param = sa.bindparam("now", now, type_=TipRow.received_at.type)
    rows: list[tuple[int, ColumnElement[int], ColumnElement[Any]]] = [
        (STAGE_NO[s], outcome(s, now_param), bucket(s)) for s in REACHED
    ]
    rows.append((TOTALS_NO, state(now_param), sa.cast(sa.null(), sa.BigInteger)))
    if dialect == "postgresql":
        inner = (
            sa.select(
                sa.func.unnest(pg.array([sa.literal(n) for n, _, _ in rows])).label("s"),
                sa.func.unnest(pg.array([o for _, o, _ in rows])).label("o"),
                sa.func.unnest(pg.array([b for _, _, b in rows])).label("b"),
            )
            .where(*where)
            .subquery()
        )
    else:
        inner = sa.union_all(
            *(
                sa.select(sa.literal(n).label("s"), o.label("o"), b.label("b")).where(*where)
                for n, o, b in rows
            )
        ).subquery()
    return sa.select(inner.c.s, inner.c.o, inner.c.b, sa.func.count()).group_by(
        inner.c.s, inner.c.o, inner.c.b
    )


def median_ranks(n: int) -> list[int]:
    """0-based ranks of the middle value(s), as `core.kpi.median` takes them."""
    return [(n - 1) // 2] if n % 2 else [n // 2 - 1, n // 2]


def locate(histogram: dict[int, int], ranks: Sequence[int]) -> dict[int, list[int]]:
    """Bucket → ranks within that bucket, for each wanted global rank."""
    found: dict[int, list[int]] = defaultdict(list)
    seen = 0
    wanted = sorted(ranks)
    for b in sorted(histogram):
        count = histogram[b]
        while wanted and wanted[0] < seen + count:
            found[b].append(wanted.pop(0) - seen)
        seen += count
        if not wanted:
            break
    return found


async def compute_kpi(
    session: AsyncSession, period: Period, scope: KpiScope, now: datetime
) -> KpiReport:
    dialect = session.get_bind().dialect.name
    where = cohort(period, scope)
    counts: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    histograms: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for s, o, b, n in await session.execute(grouped_query(dialect, where, now)):
        counts[s][o] += n
        if s != TOTALS_NO and o in (ON_TIME, LATE):
            histograms[s][int(b)] += n
    medians = await exact_medians(session, where, histograms)

    totals_row = counts[TOTALS_NO]
    received = sum(totals_row.values())
    stages = [StageKpi(Stage.RECEIVED, received, 0, 0, 0, 0, 0.0 if received else None)]
    for stage, no in STAGE_NO.items():
        c = counts[no]
        stages.append(
            StageKpi(
                stage, c[ON_TIME], c[LATE], c[OPEN], c[OVERDUE], c[NOT_APPLICABLE], medians.get(stage)
            )
        )
    closed = {
        value: totals_row[CLOSED_BASE + i]
        for i, value in enumerate(TERMINAL_ORDER)
        if totals_row[CLOSED_BASE + i]
    }
    totals = KpiTotals(
        received=received,
        open=totals_row[STILL_OPEN] + totals_row[AT_RISK] + totals_row[OPEN_OVERDUE],
        at_risk=totals_row[AT_RISK],
        overdue=totals_row[OPEN_OVERDUE],
        closed=closed,
    )
    return KpiReport(period=period, scope=scope, as_of=now, totals=totals, stages=tuple(stages))


async def exact_medians(
    session: AsyncSession, where: list[ColumnElement[bool]], histograms: dict[int, dict[int, int]]
) -> dict[Stage, float]:
    """Read only the durations in the buckets that hold each stage's middle value(s)."""
    targets: dict[Stage, dict[int, list[int]]] = {}
    for stage, no in STAGE_NO.items():
        histogram = histograms.get(no)
        if histogram:
            targets[stage] = locate(histogram, median_ranks(sum(histogram.values())))
    if not targets:
        return {}
    columns: list[ColumnElement[Any]] = []
    conditions: list[ColumnElement[bool]] = []
    for stage in REACHED:
        wanted = sorted(targets.get(stage, {}))
        if wanted:
            hit = sa.and_(REACHED[stage].is_not(None), bucket(stage).in_(wanted))
            conditions.append(hit)
            columns += [sa.case((hit, bucket(stage))), sa.case((hit, duration(stage)))]
        else:
            columns += [sa.cast(sa.null(), sa.BigInteger), sa.cast(sa.null(), sa.Float)]
    result = await session.execute(sa.select(*columns).where(*where, sa.or_(*conditions)))
    # (stage, bucket) → durations, bucketed by SQL's own arithmetic so ranks line up.
    found: dict[tuple[Stage, int], list[float]] = defaultdict(list)
    for row in result:
        for i, stage in enumerate(REACHED):
            b, value = row[2 * i], row[2 * i + 1]
            if b is not None:
                found[(stage, int(b))].append(float(value))
    medians: dict[Stage, float] = {}
    for stage, located in targets.items():
        picked = [
            sorted(found[(stage, b)])[rank] for b, ranks in sorted(located.items()) for rank in ranks
        ]
        medians[stage] = sum(picked) / len(picked)
    return medians
