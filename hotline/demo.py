"""`hotline demo-data`: a believable province to click through, loaded idempotently.

Tips are replayed through the real services with a moving clock, so their deadlines,
histories and KPI figures are exactly what production would have produced.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from core.categories import Category, Channel
from core.errors import DuplicateKey
from core.officers import Role
from core.routing import AgencyKind, agency_code
from core.services import TipService, TransitionRequest
from core.stages import Stage
from core.tips import TipDraft
from hotline.bootstrap import open_services
from hotline.demo_establishments import load_demo_register
from hotline.demo_support import load_demo_support
from hotline.settings import Settings
from storage.maintenance import upgrade_database
from storage.models import AreaRow, TransitionRow

DEMO_ACTOR = "officer:demo-data"
DEMO_TIPS = 360
SEED = 20260101

# Written for this project; places and venues are invented.
TEMPLATES: list[tuple[Category, bool, str]] = [
    (
        Category.VENUE,
        False,
        "Quán karaoke {venue} trên đường {street} có nhân viên nữ bán dâm cho khách, hoạt động sau 22 giờ.",
    ),
    (
        Category.VENUE,
        False,
        "Co so massage {venue} o duong {street} moi khach 'di tour', nghi ban dam, xe ra vao lien tuc ban dem",
    ),
    (
        Category.VENUE,
        False,
        "Nhà nghỉ {venue} gần chợ có môi giới đứng trước cửa chào mời khách nam.",
    ),
    (
        Category.ONLINE,
        False,
        "Nhóm Zalo tên '{venue} VIP' đăng ảnh gái gọi kèm bảng giá, hẹn gặp ở khu {street}.",
    ),
    (
        Category.ONLINE,
        False,
        "trang facebook {venue} quang cao 'sugar baby' cho sinh vien, co link dat lich",
    ),
    (
        Category.ONLINE,
        False,
        "A Telegram channel '{venue}' sells 'companions' with prices, meeting near {street}.",
    ),
    (
        Category.TRAFFICKING,
        True,
        "Có người hứa việc làm lương cao ở nước ngoài cho mấy em gái trong xóm, bắt nộp giấy tờ tùy thân, sắp đưa đi qua cửa khẩu.",
    ),
    (
        Category.TRAFFICKING,
        True,
        "em toi bi dua sang bien gioi lam viec, gio khong lien lac duoc, nghe noi bi ep tiep khach",
    ),
    (
        Category.MINOR,
        True,
        "Thấy một bé gái khoảng 15 tuổi làm ở quán {venue} đường {street}, bị ép tiếp khách.",
    ),
    (
        Category.MINOR,
        True,
        "Children under 16 seen working late at the {venue} bar on {street}; they looked scared.",
    ),
    (
        Category.STREET,
        False,
        "Khu vực công viên đường {street} buổi tối có người đứng mời chào mua bán dâm.",
    ),
    (Category.STREET, False, "duong {street} sau 23h co nhieu xe om cho khach den diem ban dam"),
    (
        Category.OFFICIAL_MISCONDUCT,
        False,
        "Quán {venue} hoạt động công khai, có người nói được cán bộ phường bảo kê nên không ai kiểm tra.",
    ),
    (
        Category.COMPLAINT,
        False,
        "Tôi đã báo tin về cơ sở {venue} từ 2 tháng trước nhưng chưa thấy xử lý.",
    ),
    (
        Category.OBSCENE_MATERIAL,
        False,
        "Cửa hàng điện thoại trên đường {street} bán thẻ nhớ chứa phim đồi trụy cho học sinh.",
    ),
    (
        Category.INFO_REQUEST,
        False,
        "Cho em hỏi xét nghiệm HIV miễn phí ở đâu trong tỉnh, có cần giấy tờ không ạ?",
    ),
    (
        Category.INFO_REQUEST,
        False,
        "minh muon hoc nghe de doi viec, co chuong trinh ho tro nao khong",
    ),
    (
        Category.INFO_REQUEST,
        False,
        "Where can I get free legal advice if my employer kept my passport?",
    ),
    (Category.SPAM, False, "Mua bán sim số đẹp giá rẻ liên hệ ngay!!!"),
]
VENUES = [
    "Hoa Hồng",
    "Sao Mai",
    "Thiên Đường",
    "Ánh Dương",
    "Bông Sen",
    "Kim Long",
    "Ngọc Lan",
    "Paradise",
    "Moonlight",
]
STREETS = [
    "Lê Lợi",
    "Trần Hưng Đạo",
    "Nguyễn Trãi",
    "Hai Bà Trưng",
    "Lý Thường Kiệt",
    "Quang Trung",
]


class DemoClock:
    """A clock the loader moves forward as it replays each tip's history."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def load_demo_data(settings: Settings, progress: Callable[[str], None] | None = None) -> list[str]:
    """Load the demo data; each stage's lines are handed to `progress` as the stage ends (the
    CLI prints them: loading takes a while) and all of them are returned."""
    lines: list[str] = []

    def say(*stage: str) -> None:
        lines.extend(stage)
        for line in stage:
            if progress is not None:
                progress(line)

    from hotline.masterkey import MasterKeySource

    await upgrade_database(settings.effective_database_url, settings.province_code, MasterKeySource(settings))
    say("database schema up to date")
    clock = DemoClock()
    real_now = clock.now
    async with open_services(settings, clock) as services:
        province = settings.province_code
        try:
            password = secrets.token_urlsafe(12)
            await services.staff.add_officer(
                username="admin",
                password=password,
                agency_code=agency_code(AgencyKind.POLICE, province),
                area_code=province,
                role=Role.ADMIN,
            )
            say(
                f"admin officer created: username admin, password {password}",
                "sign in at /staff/login: the first sign-in shows a QR code for your authenticator app",
                "(shown once; it is stored only as an argon2 hash)",
            )
        except DuplicateKey:
            say("admin officer already exists; password unchanged")

        async with services.engine.connect() as conn:
            done = await conn.scalar(sa.select(sa.func.count()).where(TransitionRow.actor == DEMO_ACTOR))
            communes = list(
                await conn.scalars(
                    sa.select(AreaRow.code).where(AreaRow.province_code == province).order_by(AreaRow.code)
                )
            )
        if done:
            say("demo tips already loaded; nothing added")
            say(*await load_demo_register(services, _mover(clock), real_now, communes))
            say(*await load_demo_support(services, _mover(clock), real_now, communes))
            return lines

        say(f"loading {DEMO_TIPS} demo tips with their histories ...")

        rng = random.Random(SEED)
        for _ in range(DEMO_TIPS):
            category, urgent, template = rng.choice(TEMPLATES)
            received = real_now - timedelta(days=rng.uniform(0, 365), hours=rng.uniform(0, 24))
            clock.now = received
            receipt = await services.intake.submit(
                TipDraft(
                    text=template.format(venue=rng.choice(VENUES), street=rng.choice(STREETS)),
                    channel=rng.choice([Channel.WEB, Channel.TELEGRAM]),
                    category=category if rng.random() < 0.6 else None,
                    urgent=urgent,
                    commune_code=rng.choice(communes) if rng.random() < 0.8 else None,
                )
            )
            await replay_history(services.tips, receipt.tip_id, category, rng, clock, real_now)
        clock.now = real_now
        say(f"{DEMO_TIPS} demo tips loaded over the last 12 months")
        say(*await load_demo_register(services, _mover(clock), real_now, communes))
        say(*await load_demo_support(services, _mover(clock), real_now, communes))
    return lines


def _mover(clock: DemoClock) -> Callable[[datetime], None]:
    def move(moment: datetime) -> None:
        clock.now = moment

    return move


async def replay_history(
    tips: TipService,
    tip_id: int,
    category: Category,
    rng: random.Random,
    clock: DemoClock,
    real_now: datetime,
) -> None:
    """Walk one tip forward: mostly on time, some late, some closed early, some still open."""

    async def move(target: Stage, after: timedelta, **kw: object) -> bool:
        when = clock.now + after
        if when >= real_now:
            return False
        clock.now = when
        await tips.transition(tip_id, TransitionRequest(target=target, actor=DEMO_ACTOR, **kw))  # type: ignore[arg-type]
        return True

    if category is Category.SPAM:
        await move(Stage.SPAM, timedelta(hours=rng.uniform(1, 30)), reason="advertising, not a report")
        return
    fast = rng.random() < 0.85
    if not await move(Stage.VERIFIED, timedelta(hours=rng.uniform(0.5, 20) if fast else rng.uniform(25, 60))):
        return
    if rng.random() < 0.08:
        await move(
            Stage.UNFOUNDED,
            timedelta(days=rng.uniform(1, 5)),
            reason="checked on site: no activity",
        )
        return
    if not await move(
        Stage.CLASSIFIED,
        timedelta(hours=rng.uniform(2, 60) if fast else rng.uniform(70, 120)),
        category=category,
    ):
        return
    if rng.random() < 0.1:
        await tips.extend_deadline(tip_id, actor=DEMO_ACTOR, reason="complex case: several venues involved")
    await move(Stage.PROCESSED, timedelta(days=rng.uniform(2, 18) if fast else rng.uniform(19, 40)))
