"""The KPI and the dashboard's charts at a million tips, without counting closed tips row by
row: closed tips are summed from `kpi_months`/`kpi_days` (kept in the closing transaction),
open ones counted live, exact medians walked from histogram bounds (docs/benchmarks.md, KPI)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement

from core.calendar import VN_TZ
from core.categories import Category
from core.dashboard import AGE_BOUNDS_DAYS, AgencyLoad, Dashboard, WeekCount, week_start
from core.jurisdiction import Jurisdiction
from core.kpi import KpiReport, KpiScope, KpiTotals, Period, StageKpi
from core.routing import SUPERVISORS_ONLY
from core.stages import Stage
from storage.kpi_query import REACHED, SECONDS, TERMINAL_ORDER, count_columns
from storage.models import KPI_BOUNDS, KPI_COUNTS, KPI_STAGES, TipRow, kpi_days, kpi_months, tip_weeks
from storage.scoping import within_where

#: Bucket bounds in seconds for the medians: 10 minutes to ~60 days, ×1.83 each.
BOUNDS: tuple[int, ...] = tuple(round(600 * 1.83**i) for i in range(KPI_BOUNDS))
#: The categories scoping rules test (storage.scoping.within_where): kept in `kpi_months`.
SCOPED_CATEGORIES: tuple[str, ...] = tuple(
    sorted({Category.OFFICIAL_MISCONDUCT.value, *(c.value for c in SUPERVISORS_ONLY)})
)
_VN_OFFSET = VN_TZ.utcoffset(datetime(2026, 1, 1))
assert _VN_OFFSET is not None and all(
    VN_TZ.utcoffset(datetime(y, m, 1)) == _VN_OFFSET for y in (1990, 2026) for m in (1, 7)
), "Viet Nam keeps one offset all year (no DST); the SQL below relies on it"
VN_OFFSET_SECONDS = int(_VN_OFFSET.total_seconds())
COUNT_NAMES = [f"n{i:02d}" for i in range(KPI_COUNTS)]
BUCKET_NAMES = [f"{s}_lt{i:02d}" for s in KPI_STAGES for i in range(KPI_BOUNDS)]
_STAGES = tuple(REACHED)
#: Where open, at risk and overdue sit in `count_columns`.
OPEN = 1 + 5 * len(_STAGES)
assert [s.value for s in _STAGES] == list(KPI_STAGES)
assert len(count_columns(datetime.now(UTC))) == KPI_COUNTS


# --------------------------------------------------------------------------- time keys


class VnDay(ColumnElement[int]):
    """Days since 1970-01-01 of a UTC timestamp, in Viet Nam's time (an integer)."""

    inherit_cache = True
    type = sa.Integer()

    def __init__(self, moment: Any) -> None:
        self.moment: ColumnElement[Any] = moment


class VnMonth(ColumnElement[int]):
    """year * 12 + month - 1 of a UTC timestamp, in Viet Nam's time (an integer)."""

    inherit_cache = True
    type = sa.Integer()

    def __init__(self, moment: Any) -> None:
        self.moment: ColumnElement[Any] = moment


class VnWeek(VnDay):
    """Monday-based week number of a UTC timestamp (see `vn_week`), an integer."""

    inherit_cache = True


@compiles(VnWeek)
def _vn_week(element: VnWeek, compiler: SQLCompiler, **kw: Any) -> str:
    day = compiler.process(VnDay(element.moment), **kw)
    return f"(({day} + 3) / 7)"


@compiles(VnDay, "postgresql")
def _vn_day_pg(element: VnDay, compiler: SQLCompiler, **kw: Any) -> str:
    moment = compiler.process(element.moment, **kw)
    return f"((floor(extract(epoch FROM {moment}))::bigint + {VN_OFFSET_SECONDS}) / 86400)::integer"


@compiles(VnDay, "sqlite")
def _vn_day_sqlite(element: VnDay, compiler: SQLCompiler, **kw: Any) -> str:
    moment = compiler.process(element.moment, **kw)
    return f"((CAST(strftime('%s', {moment}) AS INTEGER) + {VN_OFFSET_SECONDS}) / 86400)"


@compiles(VnMonth, "postgresql")
def _vn_month_pg(element: VnMonth, compiler: SQLCompiler, **kw: Any) -> str:
    moment = compiler.process(element.moment, **kw)
    local = f"({moment} AT TIME ZONE 'UTC' + interval '{VN_OFFSET_SECONDS} seconds')"
    year, month = (f"CAST(extract({part} FROM {local}) AS integer)" for part in ("year", "month"))
    return f"({year} * 12 + {month} - 1)"


@compiles(VnMonth, "sqlite")
def _vn_month_sqlite(element: VnMonth, compiler: SQLCompiler, **kw: Any) -> str:
    moment = compiler.process(element.moment, **kw)
    shift = f"'+{VN_OFFSET_SECONDS} seconds'"
    return (
        f"(CAST(strftime('%Y', {moment}, {shift}) AS INTEGER) * 12 "
        f"+ CAST(strftime('%m', {moment}, {shift}) AS INTEGER) - 1)"
    )


def vn_day(moment: datetime) -> int:
    return (math.floor(moment.timestamp()) + VN_OFFSET_SECONDS) // 86400


def vn_week(moment: datetime) -> int:
    """Monday-based weeks: day 0 (1970-01-01) was a Thursday."""
    return (vn_day(moment) + 3) // 7


def month_number(day: date) -> int:
    return day.year * 12 + day.month - 1


def month_start(number: int) -> datetime:
    return datetime(number // 12, number % 12 + 1, 1, tzinfo=VN_TZ)


def whole_months(period: Period) -> tuple[int, int] | None:
    """The first and last month the period covers entirely, if any."""
    first = month_number(period.start) + (period.start.day != 1)
    last = month_number(period.end) - ((period.end + timedelta(days=1)).day != 1)
    return (first, last) if first <= last else None


# --------------------------------------------------------------------------- expressions


def _literal_list(values: Sequence[str]) -> sa.BindParameter[Any]:
    # Rendered inline, so PostgreSQL can match the partial index's predicate.
    return sa.bindparam("stages_" + "_".join(values), list(values), expanding=True, literal_execute=True)


def is_open() -> ColumnElement[bool]:
    """The predicate of `ix_tips_open_kpi` (models.OPEN_TIPS_SQL)."""
    return TipRow.stage.not_in(_literal_list(TERMINAL_ORDER))


def is_closed() -> ColumnElement[bool]:
    return TipRow.stage.in_(_literal_list(TERMINAL_ORDER))


def bucket_columns(open_only: bool = False) -> list[ColumnElement[int]]:
    """Per stage and bound: tips faster than it. An open tip has not been processed
    (processing closes it), so for open tips that stage's counts are plain zeros."""
    return [
        sa.literal(0)
        if open_only and stage is Stage.PROCESSED
        else sa.func.count().filter(SECONDS[stage] < bound)
        for stage in _STAGES
        for bound in BOUNDS
    ]


def _unit_key(period: ColumnElement[int]) -> list[ColumnElement[Any]]:
    return [
        period,
        TipRow.province_code.label("province_code"),
        TipRow.agency_code.label("agency_code"),
        sa.func.coalesce(TipRow.commune_code, "").label("commune_code"),
        sa.case((TipRow.category.in_(SCOPED_CATEGORIES), TipRow.category), else_="").label("category"),
    ]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # closed tips' counts do not depend on "now"
_MONTH_KEYS = ["month", "province_code", "agency_code", "commune_code", "category"]
_DAY_KEYS = ["day", *_MONTH_KEYS[1:]]
_ROLLUPS: tuple[tuple[sa.Table, list[str]], ...] = ((kpi_months, _MONTH_KEYS), (kpi_days, _DAY_KEYS))


def _period_key(table: sa.Table) -> ColumnElement[int]:
    if table is kpi_months:
        return VnMonth(TipRow.received_at).label("month")
    return VnDay(TipRow.received_at).label("day")


_WEEK_KEYS = ["week", "province_code", "agency_code", "commune_code", "category"]


def _closed_rollup(table: sa.Table, where: Sequence[ColumnElement[bool]]) -> sa.Select[Any]:
    key = _unit_key(_period_key(table))
    values = [
        c.label(n)
        for c, n in zip([*count_columns(_EPOCH), *bucket_columns()], COUNT_NAMES + BUCKET_NAMES, strict=True)
    ]
    return sa.select(*key, *values).where(is_closed(), *where).group_by(*key[:5])


def _weekly() -> sa.Select[Any]:
    key: list[ColumnElement[Any]] = [
        VnWeek(TipRow.received_at).label("week"),
        TipRow.province_code.label("province_code"),
        TipRow.agency_code.label("agency_code"),
        sa.func.coalesce(TipRow.commune_code, "").label("commune_code"),
        sa.func.coalesce(TipRow.category, "").label("category"),
    ]
    return sa.select(*key, sa.func.count().label("received")).group_by(*key)


def rebuild_statements() -> list[sa.Executable]:
    """Recompute `kpi_months` and `tip_weeks` from `tips` (after a bulk load, in 0008)."""
    statements: list[sa.Executable] = []
    for table, keys in _ROLLUPS:
        statements.append(sa.delete(table))
        statements.append(
            table.insert().from_select(keys + COUNT_NAMES + BUCKET_NAMES, _closed_rollup(table, []))
        )
    return [
        *statements,
        sa.delete(tip_weeks),
        tip_weeks.insert().from_select([*_WEEK_KEYS, "received"], _weekly()),
    ]


async def rebuild(engine: AsyncEngine) -> None:
    """`rebuild_statements` in one transaction: run after loading tips in bulk (COPY)."""
    async with engine.begin() as conn:
        for statement in rebuild_statements():
            await conn.execute(statement)


def _insert(session: AsyncSession, table: sa.Table) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


async def add_closed_tip(session: AsyncSession, tip_id: int) -> None:
    """A tip has just closed (its row already updated): add its counts to its month and day."""
    values = COUNT_NAMES + BUCKET_NAMES
    for table, keys in _ROLLUPS:
        stmt = _insert(session, table).from_select(
            keys + values, _closed_rollup(table, [TipRow.id == tip_id])
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=keys, set_={n: table.c[n] + stmt.excluded[n] for n in values}
        )
        await session.execute(stmt)


async def add_closed_tips(session: AsyncSession, where: Sequence[ColumnElement[bool]]) -> None:
    """Many tips written already closed (an import), chosen by `where`: their counts added
    in one statement per table (the GROUP BY sums those sharing a month or day and unit)."""
    values = COUNT_NAMES + BUCKET_NAMES
    for table, keys in _ROLLUPS:
        stmt = _insert(session, table).from_select(keys + values, _closed_rollup(table, where))
        stmt = stmt.on_conflict_do_update(
            index_elements=keys, set_={n: table.c[n] + stmt.excluded[n] for n in values}
        )
        await session.execute(stmt)


async def count_week(
    session: AsyncSession,
    *,
    received_at: datetime,
    province_code: str,
    agency_code: str,
    commune_code: str | None,
    category: str | None,
    delta: int,
) -> None:
    """Intake (+1), and a tip whose category or agency changes (-1 old, +1 new)."""
    change = (received_at, province_code, agency_code, commune_code, category, delta)
    await add_weeks(session, week_totals([change]))


#: (received_at, province_code, agency_code, commune_code, category, delta)
WeekDelta = tuple[datetime, str, str, str | None, str | None, int]


WeekKey = tuple[int, str, str, str, str]


def week_totals(counts: Iterable[WeekDelta]) -> list[dict[str, Any]]:
    """The `tip_weeks` changes for several counts: one row per week and unit, however many
    tips share it (an upsert may touch a row only once)."""
    totals: dict[WeekKey, int] = {}
    for received_at, province_code, agency_code, commune_code, category, delta in counts:
        key = (vn_week(received_at), province_code, agency_code, commune_code or "", category or "")
        totals[key] = totals.get(key, 0) + delta
    return [{**dict(zip(_WEEK_KEYS, key, strict=True)), "received": delta} for key, delta in totals.items()]


async def add_weeks(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Add `week_totals` rows to the weekly counts, in one upsert."""
    if not rows:
        return
    stmt = _insert(session, tip_weeks).values(list(rows))
    stmt = stmt.on_conflict_do_update(
        index_elements=_WEEK_KEYS, set_={"received": tip_weeks.c.received + stmt.excluded.received}
    )
    await session.execute(stmt)


# --------------------------------------------------------------------------- the KPI


async def custom_plans(session: AsyncSession) -> None:
    """Plan this transaction's statements for their actual values (PostgreSQL). asyncpg
    prepares statements, and after five runs PostgreSQL may switch to a generic plan made
    without the values; for these queries the values decide everything (a commune's week
    or a province's year, a bucket bound), and the generic plans measured 5-40x slower."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(sa.text("SET LOCAL plan_cache_mode = force_custom_plan"))


def _scope(rows: Any, scope: KpiScope) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if scope.agency_code:
        where.append(rows.agency_code == scope.agency_code)
    if scope.commune_code:
        where.append(rows.commune_code == scope.commune_code)
    return where


async def _sums(
    session: AsyncSession,
    period: Period,
    scope: KpiScope,
    now: datetime,
    within: Jurisdiction | None,
    extra: Sequence[ColumnElement[Any]] = (),
) -> tuple[list[int], list[ColumnElement[bool]], list[Any]]:
    """The counts and bucket counts of the cohort (closed tips from the rollups, open ones
    live), the cohort's conditions on `tips`, and the live part per agency unit (agency
    code, counts, bucket counts, then `extra` columns over the open tips)."""
    lo, hi = period.bounds()
    cohort = [
        TipRow.received_at >= lo,
        TipRow.received_at < hi,
        *_scope(TipRow, scope),
        *within_where(within),
    ]
    months = whole_months(period)
    names = COUNT_NAMES + BUCKET_NAMES
    parts: list[tuple[sa.Table, ColumnElement[bool]]] = []
    if months is None:
        parts.append((kpi_days, kpi_days.c.day.between(vn_day(lo), vn_day(hi) - 1)))
    else:
        first, last = months
        m_lo, m_hi = month_start(first), month_start(last + 1)
        parts.append((kpi_months, kpi_months.c.month.between(first, last)))
        if m_lo > lo:
            parts.append((kpi_days, kpi_days.c.day.between(vn_day(lo), vn_day(m_lo) - 1)))
        if m_hi < hi:
            parts.append((kpi_days, kpi_days.c.day.between(vn_day(m_hi), vn_day(hi) - 1)))
    rolled = [0] * (KPI_COUNTS + len(BUCKET_NAMES))
    for table, span in parts:
        c = table.c
        row = (
            await session.execute(
                sa.select(*(sa.func.coalesce(sa.func.sum(c[n]), 0) for n in names)).where(
                    span, *_scope(c, scope), *within_where(within, c)
                )
            )
        ).one()
        rolled = [a + int(b) for a, b in zip(rolled, row, strict=True)]
    live = (
        await session.execute(
            sa.select(TipRow.agency_code, *count_columns(now), *bucket_columns(open_only=True), *extra)
            .where(*cohort, is_open())
            .group_by(TipRow.agency_code)
        )
    ).all()
    for unit in live:
        rolled = [a + int(b) for a, b in zip(rolled, unit[1 : 1 + len(rolled)], strict=True)]
    return rolled, cohort, list(live)


async def _median(
    session: AsyncSession, stage: Stage, cohort: list[ColumnElement[bool]], reached: int, below: Sequence[int]
) -> float | None:
    """The middle one or two durations; `below[i]`: cohort tips faster than BOUNDS[i]."""
    if reached == 0:
        return None
    rank = (reached - 1) // 2
    start = max((i for i, n in enumerate(below) if n <= rank), default=None)
    seconds = SECONDS[stage]
    where = [*cohort, seconds.is_not(None)]
    skip = rank
    if start is not None:
        where.append(seconds >= BOUNDS[start])
        skip -= below[start]
    middle = [
        v
        for v in await session.scalars(
            sa.select(seconds).where(*where).order_by(seconds).offset(skip).limit(2 - reached % 2)
        )
        if v is not None
    ]
    return sum(middle) / len(middle) if middle else None


async def kpi_report(
    session: AsyncSession, period: Period, scope: KpiScope, now: datetime, within: Jurisdiction | None = None
) -> KpiReport:
    """The same report as `storage.kpi_query.compute_kpi`, from the rollups."""
    return (await _kpi(session, period, scope, now, within))[0]


async def _kpi(
    session: AsyncSession,
    period: Period,
    scope: KpiScope,
    now: datetime,
    within: Jurisdiction | None,
    extra: Sequence[ColumnElement[Any]] = (),
) -> tuple[KpiReport, list[Any]]:
    await custom_plans(session)
    row, cohort, live = await _sums(session, period, scope, now, within, extra)
    buckets = row[KPI_COUNTS:]
    received = row[0]
    stages = [StageKpi(Stage.RECEIVED, received, 0, 0, 0, 0, 0.0 if received else None)]
    for i, stage in enumerate(_STAGES):
        on_time, late, open_, overdue, na = row[1 + 5 * i : 6 + 5 * i]
        below = buckets[i * KPI_BOUNDS : (i + 1) * KPI_BOUNDS]
        median = await _median(session, stage, cohort, on_time + late, below)
        stages.append(StageKpi(stage, on_time, late, open_, overdue, na, median))
    base = 1 + 5 * len(_STAGES)
    totals = KpiTotals(
        received=received,
        open=row[base],
        at_risk=row[base + 1],
        overdue=row[base + 2],
        closed={value: n for value, n in zip(TERMINAL_ORDER, row[base + 3 : KPI_COUNTS], strict=True) if n},
    )
    return KpiReport(period=period, scope=scope, as_of=now, totals=totals, stages=tuple(stages)), live


# --------------------------------------------------------------------------- charts


async def dashboard(
    session: AsyncSession, period: Period, now: datetime, within: Jurisdiction | None = None
) -> Dashboard:
    """The KPI of the period for the jurisdiction, and the charts' data (core.dashboard)."""
    younger_than = [
        sa.func.count().filter(
            TipRow.received_at
            > sa.bindparam(f"age{d}", now - timedelta(days=d), type_=TipRow.received_at.type)
        )
        for d in AGE_BOUNDS_DAYS
    ]
    report, units = await _kpi(session, period, KpiScope(), now, within, younger_than)
    lo, hi = period.bounds()
    w = tip_weeks.c
    first_week, last_week = vn_week(lo), vn_week(hi - timedelta(microseconds=1))
    weeks = [
        WeekCount(week_start(r.week), Category(r.category) if r.category else None, int(r.received))
        for r in await session.execute(
            sa.select(w.week, w.category, sa.func.sum(w.received).label("received"))
            .where(w.week >= first_week, w.week <= last_week, *within_where(within, w))
            .group_by(w.week, w.category)
            .having(sa.func.sum(w.received) != 0)
            .order_by(w.week, w.category)
        )
    ]
    # Per unit: agency, the KPI counts (open, at risk, overdue at OPEN), buckets, ages.
    ages_at = 1 + KPI_COUNTS + len(BUCKET_NAMES)
    younger = [sum(int(u[ages_at + k]) for u in units) for k in range(len(AGE_BOUNDS_DAYS))]
    cumulative = [*younger, report.totals.open]
    open_by_age = tuple(b - a for a, b in zip([0, *cumulative[:-1]], cumulative, strict=True))
    workload = tuple(
        sorted(
            (
                AgencyLoad(u[0], int(u[1 + OPEN]), int(u[2 + OPEN]), int(u[3 + OPEN]))
                for u in units
                if int(u[1 + OPEN])
            ),
            key=lambda a: (-a.open, a.agency_code),
        )
    )
    return Dashboard(kpi=report, weeks=tuple(weeks), open_by_age=open_by_age, workload=workload)
