"""The fast KPI and the dashboard (storage/dashboard_query.py) against the plain one-pass
SQL and the data itself, on both databases; and the queue's search and keyset pages as
the indexes of migration 0008 read them."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from core.categories import Category
from core.dashboard import AGE_BOUNDS_DAYS
from core.errors import DomainError
from core.jurisdiction import EVERYTHING, Jurisdiction, jurisdiction_of
from core.kpi import KpiScope, Period
from core.officers import Officer, Role
from core.stages import Stage
from core.tips import Tip
from hotline.bootstrap import Services
from storage.dashboard_query import rebuild_statements, vn_week
from storage.db import session_factory
from storage.kpi_query import compute_kpi
from storage.models import kpi_days, kpi_months, tip_weeks
from storage.repositories import SqlUnitOfWork
from storage.scoping import within_where
from tests.builders import move, submit
from tests.conftest import COMMUNE, PROVINCE, REMOTE_COMMUNE, FakeClock, staff_headers

CATEGORIES = [
    None,
    Category.VENUE,
    Category.ONLINE,
    Category.INFO_REQUEST,
    Category.MINOR,
    Category.OFFICIAL_MISCONDUCT,
    Category.COMPLAINT,
]


def jurisdictions() -> list[Jurisdiction]:
    def of(agency: str, area: str, role: Role) -> Jurisdiction:
        officer = Officer(0, "t", agency, area, role, "")
        return jurisdiction_of(officer, area_is_province=area == PROVINCE)

    return [
        EVERYTHING,
        of(f"police:{PROVINCE}", PROVINCE, Role.SUPERVISOR),
        of(f"police:{COMMUNE}", COMMUNE, Role.OFFICER),
        of(f"inspectorate:{PROVINCE}", PROVINCE, Role.OFFICER),
        of(f"health:{PROVINCE}", PROVINCE, Role.SUPERVISOR),
    ]


async def random_tips(services: Services, clock: FakeClock, n: int = 70) -> tuple[list[int], datetime]:
    """Tips over ~4 months (2026-03..06) in every state: classified into other categories,
    referred, closed every way, some left open."""
    rng = random.Random(11)
    t0 = clock.now  # 2026-03-02
    ids: list[int] = []
    for _ in range(n):
        clock.now = t0 + timedelta(days=rng.uniform(0, 110), hours=rng.uniform(0, 24))
        tip_id = (
            await submit(
                services.intake,
                category=rng.choice(CATEGORIES),
                commune_code=rng.choice([None, COMMUNE, REMOTE_COMMUNE]),
            )
        ).tip_id
        ids.append(tip_id)
        for target in (Stage.VERIFIED, Stage.CLASSIFIED, Stage.REFERRED, Stage.PROCESSED):
            roll = rng.random()
            clock.now += timedelta(hours=rng.uniform(0.2, 40 if target is not Stage.PROCESSED else 500))
            try:
                if roll < 0.12:
                    closing = rng.choice([Stage.SPAM, Stage.DUPLICATE, Stage.UNFOUNDED])
                    original = ids[0] if ids[0] != tip_id else None
                    await services.tips.transition(tip_id, move(closing, duplicate_of=original))
                    break
                if roll < 0.25:
                    break
                if target is Stage.REFERRED:
                    if roll < 0.5:
                        await services.tips.transition(tip_id, move(target, to_agency=f"health:{PROVINCE}"))
                    continue
                category = rng.choice(CATEGORIES[1:]) if target is Stage.CLASSIFIED else None
                await services.tips.transition(tip_id, move(target, category=category))
            except DomainError:
                break
    return ids, t0 + timedelta(days=100)


PERIODS = [
    Period(date(2026, 3, 1), date(2026, 5, 31)),  # whole months: closed tips from the rollup
    Period(date(2026, 3, 10), date(2026, 6, 5)),  # partial months at both ends
    Period(date(2026, 4, 1), date(2026, 4, 30)),
    Period(date(2026, 4, 16), date(2026, 4, 16)),  # one day
    Period(date(2025, 1, 1), date(2025, 12, 31)),  # empty
]


async def test_fast_kpi_equals_the_plain_sql_for_every_period_and_jurisdiction(
    services: Services, clock: FakeClock
) -> None:
    _, as_of = await random_tips(services, clock)
    sessions = session_factory(services.engine)
    checked = 0
    for period in PERIODS:
        for within in jurisdictions():
            for scope in (KpiScope(), KpiScope(commune_code=COMMUNE)):
                async with SqlUnitOfWork(sessions, services.master_keys) as uow:
                    fast = await uow.tips.kpi(period, scope, as_of, 0.75, within)
                    plain = await compute_kpi(uow.session, period, scope, as_of, within_where(within))
                assert fast == plain, (period, within, scope)
                checked += fast.totals.received
    assert checked > 100  # the data did land in the periods


async def snapshot(services: Services) -> tuple[list[Any], list[Any], list[Any]]:
    async with services.engine.connect() as conn:
        months = (await conn.execute(sa.select(kpi_months).order_by(*kpi_months.primary_key))).all()
        days = (await conn.execute(sa.select(kpi_days).order_by(*kpi_days.primary_key))).all()
        weeks = (
            await conn.execute(
                sa.select(tip_weeks).where(tip_weeks.c.received != 0).order_by(*tip_weeks.primary_key)
            )
        ).all()
    return [tuple(r) for r in months], [tuple(r) for r in days], [tuple(r) for r in weeks]


async def test_rollups_kept_in_step_equal_a_rebuild(services: Services, clock: FakeClock) -> None:
    await random_tips(services, clock)
    kept = await snapshot(services)
    async with services.engine.begin() as conn:
        for statement in rebuild_statements():
            await conn.execute(statement)
    rebuilt = await snapshot(services)
    assert kept == rebuilt
    assert kept[0] and kept[1] and kept[2]


async def test_dashboard_charts_add_up(services: Services, clock: FakeClock) -> None:
    ids, as_of = await random_tips(services, clock)
    sessions = session_factory(services.engine)
    async with SqlUnitOfWork(sessions, services.master_keys) as uow:
        tips: list[Tip] = [await uow.tips.get(i) for i in ids]
    period = PERIODS[1]
    lo, hi = period.bounds()
    for within in jurisdictions():
        async with SqlUnitOfWork(sessions, services.master_keys) as uow:
            board = await uow.tips.dashboard(period, as_of, within)
        visible = [
            t
            for t in tips
            if within.allows(agency_code=t.agency_code, category=t.category, province_code=t.province_code)
        ]
        assert sum(board.open_by_age) == board.kpi.totals.open == sum(a.open for a in board.workload)
        assert sum(a.overdue for a in board.workload) == board.kpi.totals.overdue
        cohort_open = [t for t in visible if lo <= t.received_at < hi and t.stage.value not in {
            "processed", "spam", "duplicate", "unfounded"}]  # fmt: skip
        oldest = [t for t in cohort_open if as_of - t.received_at >= timedelta(days=AGE_BOUNDS_DAYS[-1])]
        assert board.open_by_age[-1] == len(oldest)
        first, last = vn_week(lo), vn_week(hi - timedelta(microseconds=1))
        expected: dict[tuple[int, Category | None], int] = {}
        for t in visible:
            if first <= vn_week(t.received_at) <= last:
                key = (vn_week(t.received_at), t.category)
                expected[key] = expected.get(key, 0) + 1
        got = {
            (((w.week_start - date(1970, 1, 1)).days + 3) // 7, w.category): w.received for w in board.weeks
        }
        assert all(w.week_start.weekday() == 0 for w in board.weeks)
        assert sum(got.values()) == sum(expected.values())
        assert got == expected
        assert set(board.to_dict()) == {"kpi", "weeks", "on_time_share", "open_by_age_days", "workload"}


async def test_search_finds_words_typed_without_diacritics_and_the_reverse(
    client: Any, services: Services, admin: dict[str, str]
) -> None:
    marked = (await submit(services.intake, text="Nhà nghỉ Bình An cho thuê phòng theo giờ")).tip_id
    plain = (await submit(services.intake, text="nha nghi Thanh Binh gan cho, nguoi la ra vao")).tip_id
    await submit(services.intake, text="Quán karaoke trên đường Lê Lợi")

    async def ids(q: str) -> set[int]:
        resp = await client.get(f"/api/v1/staff/tips?q={quote(q)}", headers=admin)
        assert resp.status == 200
        return {i["id"] for i in (await resp.json())["items"]}

    assert await ids("nha nghi") == {marked, plain}
    assert await ids("NHÀ NGHỈ") == {marked, plain}
    assert await ids("thanh bình") == {plain}
    assert await ids("binh an") == {marked}
    assert await ids("binh nghi") == {marked, plain}  # every word, in any order
    assert await ids("binh karaoke") == set()


async def test_keyset_pages_with_filters_cover_each_tip_once(
    client: Any, services: Services, admin: dict[str, str], clock: FakeClock
) -> None:
    for i in range(14):
        tip_id = (await submit(services.intake, urgent=i % 4 == 0)).tip_id
        if i % 5 == 0:
            await services.tips.transition(tip_id, move(Stage.VERIFIED))
        if i % 7 == 3:
            await services.tips.transition(tip_id, move(Stage.SPAM))
        clock.advance(minutes=5 * (i % 3))
    admin = await staff_headers(services, "admin")

    async def walk(filters: str) -> tuple[list[int], list[int]]:
        full = await client.get(f"/api/v1/staff/tips?{filters}&limit=200", headers=admin)
        everything = [i["id"] for i in (await full.json())["items"]]
        seen: list[int] = []
        query = f"{filters}&limit=2"
        while True:
            body = await (await client.get(f"/api/v1/staff/tips?{query}", headers=admin)).json()
            seen += [i["id"] for i in body["items"]]
            if body["next"] is None:
                return seen, everything
            query = f"{filters}&limit=2&next={body['next']}"

    for filters in ("closed=true", "urgent=true&closed=true", "urgent=false", "stage=received", "q=karaoke"):
        seen, everything = await walk(filters)
        assert seen == everything and len(set(seen)) == len(seen) and everything, filters
