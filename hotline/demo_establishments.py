"""`hotline demo-data`'s establishments register: a few dozen establishments across the
province's communes, inspections over the past year, demo venue tips linked to the
establishments they name, and hotspots at every step of their lifecycle. Loaded once
(skipped when demo establishments exist), through the real service with a moving clock."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from core.establishments import (
    EstablishmentDraft,
    HotspotDraft,
    HotspotKind,
    InspectionDraft,
    Kind,
    Outcome,
    Scope,
    Status,
)
from core.jurisdiction import EVERYTHING
from hotline.bootstrap import Services
from storage.db import session_factory
from storage.establishment_tables import EstablishmentRow
from storage.models import TipRow
from storage.repositories import SqlUnitOfWork

DEMO_ACTOR = "officer:demo-data"
SEED = 20260202
ALL = Scope(everything=True)
#: Written for this project; every name is invented (the demo tips name the same venues).
NAMES: list[tuple[Kind, str]] = [
    (Kind.KARAOKE, "Karaoke Hoa Hồng"),
    (Kind.KARAOKE, "Karaoke Sao Mai"),
    (Kind.KARAOKE, "Karaoke Kim Long"),
    (Kind.KARAOKE, "Karaoke Paradise"),
    (Kind.MASSAGE, "Massage Thiên Đường"),
    (Kind.MASSAGE, "Massage Ngọc Lan"),
    (Kind.MASSAGE, "Xông hơi Ánh Dương"),
    (Kind.GUESTHOUSE, "Nhà nghỉ Bông Sen"),
    (Kind.GUESTHOUSE, "Nhà nghỉ Hoa Hồng"),
    (Kind.GUESTHOUSE, "Nhà nghỉ Thanh Bình"),
    (Kind.GUESTHOUSE, "Nhà nghỉ Moonlight"),
    (Kind.HOTEL, "Khách sạn Sao Mai"),
    (Kind.HOTEL, "Khách sạn Phương Đông"),
    (Kind.HOTEL, "Khách sạn Bến Thành"),
    (Kind.BOARDING_HOUSE, "Nhà trọ Minh Tâm"),
    (Kind.BOARDING_HOUSE, "Nhà trọ Phúc Lộc"),
    (Kind.HOMESTAY, "Homestay Mây Trắng"),
    (Kind.HOMESTAY, "Homestay Biển Xanh"),
    (Kind.BAR, "Bar Moonlight"),
    (Kind.BAR, "Vũ trường Kim Long"),
    (Kind.BAR, "Beer club Thiên Đường"),
    (Kind.OTHER, "Tiệm gội đầu Ngọc Lan"),
    (Kind.KARAOKE, "Karaoke Ánh Dương"),
    (Kind.MASSAGE, "Massage Bông Sen"),
    (Kind.GUESTHOUSE, "Nhà nghỉ Kim Long"),
    (Kind.HOTEL, "Khách sạn Paradise"),
    (Kind.KARAOKE, "Karaoke Thiên Đường"),
    (Kind.BOARDING_HOUSE, "Nhà trọ Sao Mai"),
    (Kind.BAR, "Bar Ngọc Lan"),
    (Kind.MASSAGE, "Massage Moonlight"),
    (Kind.KARAOKE, "Karaoke Bông Sen"),
    (Kind.GUESTHOUSE, "Nhà nghỉ Ánh Dương"),
    (Kind.HOTEL, "Khách sạn Hoa Hồng"),
    (Kind.HOMESTAY, "Homestay Ngọc Lan"),
    (Kind.BAR, "Bar Sao Mai"),
    (Kind.KARAOKE, "Karaoke Ngọc Lan"),
]
STREETS = ["Lê Lợi", "Trần Hưng Đạo", "Nguyễn Trãi", "Hai Bà Trưng", "Lý Thường Kiệt", "Quang Trung"]
TEAMS = ["Công an xã, Văn hóa - Xã hội", "Công an phường", "Đoàn liên ngành tỉnh", "Công an, Y tế, Thuế"]
VIOLATIONS = [
    "Không đăng ký lưu trú",
    "Phòng hát không đảm bảo điều kiện",
    "Nhân viên không có hợp đồng lao động",
]
HOTSPOTS: list[tuple[HotspotKind, str]] = [
    (HotspotKind.PARK, "Công viên bờ sông"),
    (HotspotKind.STREET, "Đường Lê Lợi đoạn gần chợ"),
    (HotspotKind.ROAD, "Quốc lộ, đoạn qua cầu Mới"),
    (HotspotKind.ONLINE_GROUP, 'Nhóm Zalo "Gái xinh VIP"'),
    (HotspotKind.STREET, "Hẻm sau bến xe"),
    (HotspotKind.PARK, "Công viên trung tâm"),
    (HotspotKind.ONLINE_GROUP, 'Trang Facebook "Sugar baby sinh viên"'),
    (HotspotKind.ROAD, "Đường ven biển"),
]


async def load_demo_register(
    services: Services, set_now: Callable[[datetime], None], real_now: datetime, communes: Sequence[str]
) -> list[str]:
    """Add the demo register; `set_now` moves the services' clock (back to `real_now` after)."""
    async with services.engine.connect() as conn:
        done = await conn.scalar(sa.select(sa.func.count()).where(EstablishmentRow.created_by == DEMO_ACTOR))
        found = (
            await conn.execute(
                sa.select(TipRow.id, TipRow.commune_code)
                .where(TipRow.category.in_(("venue", "minor", "official_misconduct")))
                .order_by(TipRow.id)
            )
        ).all()
    # The texts are stored encrypted: read them through the repository, which opens them.
    async with SqlUnitOfWork(session_factory(services.engine), services.master_keys) as uow:
        texts = await uow.tips.texts([tip_id for tip_id, _ in found])
    tips = [(tip_id, texts[tip_id][0], commune) for tip_id, commune in found]
    if done:
        return ["demo establishments already loaded; nothing added"]
    rng = random.Random(SEED)  # noqa: S311 - demo data, not secrets
    est = services.establishments
    # A few communes hold most of them, as towns do; a commune officer then sees a full list.
    busy = list(communes[:4]) or list(communes)
    ids: dict[str, int] = {}
    for n, (kind, name) in enumerate(NAMES):
        set_now(real_now - timedelta(days=rng.uniform(380, 720)))
        commune = busy[n % len(busy)] if rng.random() < 0.7 else rng.choice(communes)
        status = rng.choice([Status.LISTED, Status.MANAGED, Status.MANAGED, Status.MANAGED])
        commitment = (real_now - timedelta(days=rng.uniform(10, 400))).date() if rng.random() < 0.7 else None
        draft = EstablishmentDraft(
            name,
            kind,
            f"{rng.randint(1, 250)} {rng.choice(STREETS)}",
            commune,
            licence=f"{rng.randint(100, 999)}/GP-UBND" if rng.random() < 0.6 else None,
            status=status,
            commitment_date=commitment,
        )
        ids[name] = await est.add(draft, ALL, actor=DEMO_ACTOR)
    set_now(real_now)
    inspections = 0
    for establishment_id in ids.values():
        for _ in range(rng.choice([0, 1, 1, 2])):
            on = (real_now - timedelta(days=rng.uniform(1, 500))).date()
            roll = rng.random()
            outcome = (
                Outcome.NO_VIOLATION if roll < 0.7 else Outcome.VIOLATION if roll < 0.97 else Outcome.CLOSED
            )
            violation = rng.choice(VIOLATIONS) if outcome is Outcome.VIOLATION else None
            fine = rng.choice([2, 5, 7, 15]) * 1_000_000 if violation else None
            await est.inspect(
                establishment_id,
                InspectionDraft(on, outcome, rng.choice(TEAMS), violation, fine),
                ALL,
                actor=DEMO_ACTOR,
            )
            inspections += 1
    links = 0
    for tip_id, text, _commune in tips:
        named = [n for n in ids if n.split(" ", 1)[1] in text and n.split(" ", 1)[0].lower() in text.lower()]
        if named and rng.random() < 0.8:
            links += await est.link(tip_id, ids[named[0]], ALL, EVERYTHING, actor=DEMO_ACTOR)
    spots = 0
    for n, (spot_kind, spot_name) in enumerate(HOTSPOTS):
        moment = real_now - timedelta(days=rng.uniform(200, 400))
        set_now(moment)
        spot = await est.add_hotspot(
            HotspotDraft(spot_name, spot_kind, busy[n % len(busy)]), ALL, actor=DEMO_ACTOR
        )
        spots += 1
        for move in ("deal", "eliminate", "return", "deal")[: n % 5]:
            moment = min(real_now, moment + timedelta(days=rng.uniform(5, 60)))
            set_now(moment)
            await est.move_hotspot(spot, move, ALL, actor=DEMO_ACTOR)
    venue = next(iter(ids.values()))
    set_now(real_now - timedelta(days=300))
    spot = await est.add_hotspot(
        HotspotDraft(NAMES[0][1], HotspotKind.ESTABLISHMENT, busy[0], establishment_id=venue),
        ALL,
        actor=DEMO_ACTOR,
    )
    for move in ("deal", "eliminate"):
        await est.move_hotspot(spot, move, ALL, actor=DEMO_ACTOR)
    set_now(real_now)
    return [
        f"{len(ids)} demo establishments, {inspections} inspections, {links} tips linked, "
        f"{spots + 1} hotspots loaded"
    ]
