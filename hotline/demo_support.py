"""Demo support cases with referrals and outcomes, a service directory, training sessions
with staff counts and offline outreach activities, so a report made right after `make run`
has every section filled. Idempotent: a second run adds nothing."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from core.establishments import Scope
from core.support import Activity, Level, Provider, ReferralOutcome, State, TrainingSession
from hotline.bootstrap import Services
from storage.models import AgencyRow
from storage.support_tables import TrainingSessionRow

DEMO_ACTOR = "officer:demo-data"
SEED = 2230
CASES = 120
PROVIDERS = (
    ("Trung tâm Y tế khu vực", ("health", "counselling"), True),
    ("Trung tâm Trợ giúp pháp lý nhà nước", ("legal",), True),
    ("Nhà tạm lánh, Hội Liên hiệp Phụ nữ", ("violence", "counselling"), True),
    ("Trung tâm Dịch vụ việc làm", ("job", "vocational"), True),
    ("Ngân hàng Chính sách xã hội", ("loan",), True),
    ("Phòng khám tư nhân An Tâm", ("health",), False),
)
AUDIENCES = ("students", "parents", "workers", "residents")


async def load_demo_support(
    services: Services, set_now: Callable[[datetime], None], real_now: datetime, communes: Sequence[str]
) -> list[str]:
    async with services.engine.connect() as conn:
        done = await conn.scalar(
            sa.select(sa.func.count()).where(TrainingSessionRow.created_by == DEMO_ACTOR)
        )
        agencies = list(await conn.execute(sa.select(AgencyRow.code, AgencyRow.area_code)))
    if done or not communes:
        return ["demo support cases already loaded; nothing added"]
    support = services.support
    rng = random.Random(SEED)  # noqa: S311 (repeatable demo data, not secrets)
    await support.import_providers(
        [
            Provider(0, name, kinds, tuple(communes[:20]), "Đường dây 1900 0000", free)
            for name, kinds, free in PROVIDERS
        ]
    )
    providers = await support.providers()
    everything = Scope(everything=True)
    codes = sorted(support.content.kind_codes())
    for _ in range(CASES):
        set_now(real_now - timedelta(days=rng.uniform(5, 360)))
        await support.ask(
            kinds=rng.sample(codes, rng.randint(1, 2)),
            commune=rng.choice(communes) if rng.random() < 0.85 else None,
            contact=None,
            message="",
        )
        case = (await support.cases(everything, State.RECEIVED))[0]
        if rng.random() < 0.15:
            continue  # not reached yet
        await support.answer(
            case.id, everything, actor=DEMO_ACTOR, message="Chào bạn, cán bộ sẽ gọi lại cho bạn."
        )
        if rng.random() < 0.1:
            await support.move(case.id, State.UNREACHABLE, everything, actor=DEMO_ACTOR)
            continue
        await support.move(case.id, State.ASSESSED, everything, actor=DEMO_ACTOR)
        fitting = [p for p in providers if set(p.kinds) & set(case.kinds)] or providers
        provider = rng.choice(fitting)
        ref = await support.refer(case.id, provider.id, list(case.kinds), everything, actor=DEMO_ACTOR)
        roll = rng.random()
        if roll < 0.7:
            await support.referral_outcome(
                case.id, ref, ReferralOutcome.RECEIVED, everything, actor=DEMO_ACTOR
            )
            if rng.random() < 0.5:
                await support.move(case.id, State.CLOSED, everything, actor=DEMO_ACTOR)
        elif roll < 0.85:
            await support.referral_outcome(
                case.id, ref, ReferralOutcome.DECLINED, everything, actor=DEMO_ACTOR
            )
    set_now(real_now)
    for code, area in agencies:
        level = Level.PROVINCE if len(area) == 2 else Level.COMMUNE
        await support.set_staff(
            code,
            level,
            rng.randint(5, 40) if level is Level.PROVINCE else rng.randint(2, 8),
            actor=DEMO_ACTOR,
        )
    sessions = 0
    for code, area in agencies:
        if rng.random() < 0.6:
            level = Level.PROVINCE if len(area) == 2 else Level.COMMUNE
            day = (real_now - timedelta(days=rng.uniform(1, 300))).date()
            topic = "Kỹ năng tư vấn, hỗ trợ và chuyển gửi người cần giúp đỡ"
            await support.add_training(
                TrainingSession(day, level, code, topic, {code: rng.randint(1, 6)}), actor=DEMO_ACTOR
            )
            sessions += 1
    activities = 0
    for commune in communes:
        if rng.random() < 0.7:
            day = (real_now - timedelta(days=rng.uniform(1, 300))).date()
            kind = rng.choice(("meeting", "poster", "school_talk"))
            await support.add_activity(
                Activity(day, commune, kind, rng.choice(AUDIENCES), rng.randint(20, 400)), actor=DEMO_ACTOR
            )
            activities += 1
    return [
        f"{CASES} demo support cases, {len(PROVIDERS)} service providers, "
        f"{sessions} training sessions and {activities} offline outreach activities loaded"
    ]
