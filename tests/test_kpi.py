"""The KPI on a constructed data set with answers worked out by hand, and the SQL checked
against the plain-Python reference on random data, on both databases."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest

from core.categories import Category
from core.kpi import KpiScope, Period, kpi_from_tips
from core.stages import Stage
from hotline.bootstrap import Services
from storage.db import session_factory
from storage.repositories import SqlUnitOfWork
from tests.builders import move, submit
from tests.conftest import COMMUNE, PROVINCE, FakeClock

PERIOD = Period(date(2026, 3, 1), date(2026, 4, 30))


async def build_known_set(services: Services, clock: FakeClock) -> datetime:
    """Six tips in the period and one outside it; returns the moment to judge at."""
    t0 = clock.now
    tips = services.tips

    async def at(offset: timedelta, tip_id: int, target: Stage, **kw: object) -> None:
        clock.now = start + offset
        await tips.transition(tip_id, move(target, **kw))

    h = lambda n: timedelta(hours=n)  # noqa: E731

    start = clock.now = t0  # T1: everything on time
    t1 = (await submit(services.intake, commune_code=COMMUNE)).tip_id
    await at(h(3), t1, Stage.VERIFIED)
    await at(h(10), t1, Stage.CLASSIFIED)
    await at(h(120), t1, Stage.PROCESSED)

    start = clock.now = t0  # T2: everything late
    t2 = (await submit(services.intake)).tip_id
    await at(h(30), t2, Stage.VERIFIED)
    await at(h(80), t2, Stage.CLASSIFIED)
    await at(h(600), t2, Stage.PROCESSED)

    start = clock.now = t0  # T3: spam, so later stages do not count
    t3 = (await submit(services.intake)).tip_id
    await at(h(1), t3, Stage.SPAM)

    start = clock.now = t0  # T4: never touched
    await submit(services.intake)

    start = clock.now = t0  # T5: urgent, verified in time, then left
    t5 = (await submit(services.intake, category=Category.MINOR)).tip_id
    await at(h(1), t5, Stage.VERIFIED)

    start = clock.now = t0 + timedelta(days=39, hours=2)  # T7: recent, at risk
    await submit(services.intake)

    clock.now = datetime(2026, 2, 20, 3, 0, tzinfo=t0.tzinfo)  # outside the period
    await submit(services.intake)
    return t0 + timedelta(days=40)


async def test_kpi_matches_the_hand_count(services: Services, clock: FakeClock) -> None:
    as_of = await build_known_set(services, clock)
    report = await services.tips.kpi(PERIOD, KpiScope(), as_of)
    got = {
        s.stage: (s.on_time, s.late, s.open_within_time, s.overdue, s.not_applicable) for s in report.stages
    }
    assert got == {
        Stage.RECEIVED: (6, 0, 0, 0, 0),
        Stage.VERIFIED: (2, 1, 1, 1, 1),
        Stage.CLASSIFIED: (1, 1, 1, 2, 1),
        Stage.PROCESSED: (1, 1, 1, 2, 1),
    }
    assert report.stage(Stage.VERIFIED).on_time_share == pytest.approx(0.5)
    assert report.stage(Stage.CLASSIFIED).on_time_share == pytest.approx(0.25)
    assert report.stage(Stage.VERIFIED).median_seconds == pytest.approx(3 * 3600, abs=1)
    assert report.stage(Stage.CLASSIFIED).median_seconds == pytest.approx(45 * 3600, abs=1)
    assert report.stage(Stage.PROCESSED).median_seconds == pytest.approx(360 * 3600, abs=1)
    assert report.totals.received == 6
    assert report.totals.open == 3
    assert report.totals.overdue == 2
    assert report.totals.at_risk == 1
    assert report.totals.closed == {"processed": 2, "spam": 1}


async def test_kpi_scopes(services: Services, clock: FakeClock) -> None:
    as_of = await build_known_set(services, clock)
    commune = await services.tips.kpi(PERIOD, KpiScope(commune_code=COMMUNE), as_of)
    assert commune.totals.received == 1
    assert commune.stage(Stage.PROCESSED).on_time == 1
    agency = await services.tips.kpi(PERIOD, KpiScope(agency_code=f"police:{PROVINCE}"), as_of)
    assert agency.totals.received == 5
    empty = await services.tips.kpi(Period(date(2025, 1, 1), date(2025, 1, 31)), KpiScope(), as_of)
    assert empty.totals.received == 0
    assert empty.stage(Stage.VERIFIED).on_time_share is None
    assert empty.stage(Stage.VERIFIED).median_seconds is None


async def test_sql_kpi_agrees_with_the_reference_on_random_data(services: Services, clock: FakeClock) -> None:
    rng = random.Random(7)
    t0 = clock.now
    ids = []
    for _ in range(60):
        clock.now = t0 + timedelta(days=rng.uniform(0, 50))
        receipt = await submit(
            services.intake,
            category=rng.choice([None, Category.VENUE, Category.INFO_REQUEST, Category.MINOR]),
            commune_code=rng.choice([None, COMMUNE]),
        )
        ids.append(receipt.tip_id)
        for target in (Stage.VERIFIED, Stage.CLASSIFIED, Stage.PROCESSED):
            roll = rng.random()
            if roll < 0.15:
                clock.now += timedelta(hours=rng.uniform(1, 20))
                await services.tips.transition(
                    receipt.tip_id,
                    move(
                        rng.choice([Stage.SPAM, Stage.DUPLICATE])
                        if target is Stage.VERIFIED
                        else Stage.UNFOUNDED,
                        duplicate_of=ids[0] if ids[0] != receipt.tip_id else None,
                    ),
                )
                break
            if roll < 0.3:
                break
            clock.now += timedelta(hours=rng.uniform(0.5, 30 if target is not Stage.PROCESSED else 600))
            await services.tips.transition(receipt.tip_id, move(target))
    as_of = t0 + timedelta(days=45)
    async with SqlUnitOfWork(session_factory(services.engine), services.master_keys) as uow:
        tips = [await uow.tips.get(i) for i in ids]
        policy = await uow.policies.current()
    for scope in (KpiScope(), KpiScope(commune_code=COMMUNE), KpiScope(agency_code=f"health:{PROVINCE}")):
        expected = kpi_from_tips(tips, PERIOD, scope, as_of, policy.at_risk_fraction)
        got = await services.tips.kpi(PERIOD, scope, as_of)
        assert got.totals == expected.totals
        for g, e in zip(got.stages, expected.stages, strict=True):
            assert (g.stage, g.on_time, g.late, g.open_within_time, g.overdue, g.not_applicable) == (
                e.stage,
                e.on_time,
                e.late,
                e.open_within_time,
                e.overdue,
                e.not_applicable,
            )
            if e.median_seconds is None:
                assert g.median_seconds is None
            else:
                assert g.median_seconds == e.median_seconds
