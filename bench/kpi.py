"""Benchmark of the KPI query on a year of realistic tips, PostgreSQL and SQLite.

Why: the KPI scans a whole cohort (a province-year can be a million tips), so it is the
heaviest read the service does. This script loads realistic data through the real
migration and deadline policy, times the real `TipService.kpi` against a plain count over
the same rows (the ratio is what survives a noisy machine), and prints the query plans.

    .venv/bin/python bench/kpi.py                          # 1,000,000 tips, both databases
    .venv/bin/python bench/kpi.py --rows 20000             # quick run
    .venv/bin/python bench/kpi.py --verify --rows 3000     # SQL == core.kpi.kpi_from_tips?

The PostgreSQL database named in `--pg-url` is created if missing and dropped at the end
when this script created it (unless `--keep`); an existing database with tables in it is
refused unless `--reset`.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import math
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

# bench/ holds telegram.py, which must not shadow the python-telegram-bot package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from core.calendar import VN_TZ, default_calendar
from core.categories import URGENT_BY_NATURE, Category, Channel
from core.envelope import Envelope
from core.kpi import KpiReport, KpiScope, Period, kpi_from_tips, whole_seconds
from core.receipts import ALPHABET, _check_char
from core.routing import owner_agency
from core.services import TipService, _next_due
from core.sla import DEFAULT_RULES, DeadlinePolicy, TipFacts, at_risk_moment
from core.stages import Stage
from core.tips import Tip
from storage.db import create_engine, session_factory
from storage.gazetteer import iter_areas
from storage.maintenance import upgrade_database
from storage.models import TipRow
from storage.repositories import SqlUnitOfWork

COLUMNS: tuple[str, ...] = (
    "id", "receipt_code", "text", "channel", "category", "urgent", "language", "place",
    "occurred_at", "province_code", "commune_code", "remote", "agency_code", "stage",
    "received_at", "verified_at", "classified_at", "processed_at",
    "verified_secs", "classified_secs", "processed_secs", "verified_due_at",
    "classified_due_at", "processed_due_at", "next_due_at", "at_risk_at", "extensions",
    "policy_version", "duplicate_of", "version", "updated_at",
)  # fmt: skip
DATETIME_COLUMNS = frozenset(c for c in COLUMNS if c.endswith("_at"))
AT_RISK = DeadlinePolicy(1, DEFAULT_RULES).at_risk_fraction
# Fragments of tip texts: the heap must be as wide as the real one for scans to be honest.
PHRASES = (
    "Quán karaoke trên đường này hoạt động đến khuya, có nhiều cô gái trẻ ra vào.",
    "Tôi thấy có người đưa đón các em gái bằng xe máy mỗi tối sau 10 giờ.",
    "Cơ sở massage treo biển thư giãn nhưng khách nói có dịch vụ khác.",
    "Một tài khoản mạng xã hội đăng tin tuyển tiếp viên lương cao, không cần kinh nghiệm.",
    "Hàng xóm nghi ngờ có người dưới 18 tuổi làm việc trong quán.",
    "Nhà nghỉ gần chợ cho thuê phòng theo giờ, người lạ ra vào liên tục.",
    "Tôi muốn hỏi nơi nào hỗ trợ tư vấn sức khỏe miễn phí cho người trẻ.",
    "Cán bộ phường biết nhưng không xử lý, tôi đề nghị thanh tra xem xét.",
    "Có nhóm người đứng đón khách ở công viên vào buổi tối.",
    "Trang web này phát tán hình ảnh đồi trụy, xin cơ quan chức năng kiểm tra.",
    "Em được hứa việc làm ở nước ngoài nhưng bị giữ giấy tờ tùy thân.",
    "Xe khách đưa người từ tỉnh khác đến, nghi ngờ có dấu hiệu mua bán người.",
)
CATEGORY_WEIGHTS: tuple[tuple[Category, int], ...] = (
    (Category.VENUE, 30), (Category.ONLINE, 18), (Category.STREET, 12), (Category.INFO_REQUEST, 12),
    (Category.COMPLAINT, 6), (Category.OFFICIAL_MISCONDUCT, 4), (Category.OBSCENE_MATERIAL, 6),
    (Category.MINOR, 4), (Category.TRAFFICKING, 3), (Category.SPAM, 5),
)  # fmt: skip
# More tips in the evening, few before dawn (Viet Nam's hours 0..23).
HOUR_WEIGHTS = (2, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 8, 9, 10, 10, 8, 4)


@dataclass(frozen=True)
class Scenario:
    """The time frame of the data and of the KPI question asked of it."""

    data_start: datetime
    as_of: datetime
    period: Period

    @classmethod
    def default(cls) -> Scenario:
        """14.5 months of tips; the KPI year ends 3 weeks before `as_of`, so recent tips
        are still open and both the cohort and the tips around it are realistic."""
        as_of = datetime(2026, 11, 20, 12, 0, tzinfo=VN_TZ)
        return cls(
            data_start=datetime(2025, 9, 1, tzinfo=VN_TZ),
            as_of=as_of,
            period=Period(date(2025, 11, 1), date(2026, 10, 31)),
        )


@dataclass
class Generator:
    """Tips as the services would have left them: deadlines from the real policy, pinned
    and recomputed the way `TipService._change_for` does, next_due/at_risk as stored."""

    province: str
    scenario: Scenario
    seed: int = 1
    communes: list[tuple[str, bool]] = field(init=False)
    _commune_cum: list[float] = field(init=False)
    _hour_cum: list[float] = field(init=False)
    _cat_cum: list[float] = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.policy = DeadlinePolicy(1, DEFAULT_RULES)
        self.calendar = default_calendar()
        self.communes = [
            (a.code, a.remote)
            for a in iter_areas()
            if a.level == "commune" and a.province_code == self.province
        ]
        if not self.communes:
            raise SystemExit(f"province {self.province} has no communes in the gazetteer")
        self.rng.shuffle(self.communes)
        # Zipf-like: a few central wards get many tips, rural communes few.
        self._commune_cum = _cumulative([1 / (i + 1) ** 0.8 for i in range(len(self.communes))])
        self._hour_cum = _cumulative(HOUR_WEIGHTS)
        self._cat_cum = _cumulative([w for _, w in CATEGORY_WEIGHTS])
        self.texts = [
            " ".join(self.rng.choice(PHRASES) for _ in range(self.rng.randint(1, 5))) for _ in range(4000)
        ]

    @property
    def busiest_commune(self) -> str:
        return self.communes[0][0]

    def rows(self, n: int) -> Iterator[tuple[Any, ...]]:
        span_days = (self.scenario.as_of - self.scenario.data_start).days
        for i in range(1, n + 1):
            yield self._row(i, span_days)

    def _pick(self, cum: list[float]) -> int:
        return bisect.bisect_left(cum, self.rng.random() * cum[-1])

    def _delay(self, median_hours: float, sigma: float) -> timedelta:
        return timedelta(hours=self.rng.lognormvariate(math.log(median_hours), sigma))

    def _row(self, i: int, span_days: int) -> tuple[Any, ...]:
        rng, sc = self.rng, self.scenario
        # Intake grows over time (the hotline becomes known): day density rises linearly.
        day = int(span_days * math.sqrt(rng.random()))
        local = sc.data_start + timedelta(
            days=day, hours=self._pick(self._hour_cum), seconds=rng.random() * 3600
        )
        received = local.astimezone(UTC)
        commune, remote = (
            (None, False) if rng.random() < 0.05 else self.communes[self._pick(self._commune_cum)]
        )
        category = CATEGORY_WEIGHTS[self._pick(self._cat_cum)][0] if rng.random() < 0.35 else None
        urgent = category in URGENT_BY_NATURE or rng.random() < 0.02
        facts = TipFacts(received_at=received, category=category, urgent=urgent, remote=remote)
        due = self.policy.deadlines(facts, self.calendar)
        agency = owner_agency(category, self.province, commune)
        reached: dict[Stage, datetime] = {Stage.RECEIVED: received}
        stage, now, extensions, dup_of, t = Stage.RECEIVED, sc.as_of, 0, None, received

        def step(after: timedelta) -> datetime | None:
            # A step that has not happened by `as_of`, or never happens (a stuck tip).
            nonlocal t
            if rng.random() < 0.015 or t + after > now:
                return None
            t = t + after
            return t

        fast = 1.0 if urgent else 8.0
        r = rng.random()
        if r < 0.10:  # spam or duplicate, closed without verification
            at = step(self._delay(fast, 1.0))
            if at is not None:
                stage = Stage.SPAM if r < 0.07 or i == 1 else Stage.DUPLICATE
        elif (at := step(self._delay(fast, 1.0))) is not None:
            reached[Stage.VERIFIED], stage = at, Stage.VERIFIED
            r = rng.random()
            if r < 0.06:
                stage = Stage.UNFOUNDED if step(self._delay(24, 1.0)) else stage
            elif r < 0.08:
                stage = Stage.DUPLICATE if step(self._delay(24, 1.0)) else stage
            else:
                if r < 0.12 and step(self._delay(12, 1.0)):  # referred, then resumed
                    stage, agency = Stage.REFERRED, f"inspectorate:{self.province}"
                at = step(self._delay(4 if urgent else 30, 0.9))
                if at is not None:
                    # Classification settles the category; only unreached stages get new
                    # deadlines, as in TipService._change_for.
                    if category is None:
                        category = CATEGORY_WEIGHTS[self._pick(self._cat_cum)][0]
                        if stage is not Stage.REFERRED:
                            agency = owner_agency(category, self.province, commune)
                    new_due = self.policy.deadlines(
                        TipFacts(received_at=received, category=category, urgent=urgent, remote=remote),
                        self.calendar,
                    )
                    due[Stage.PROCESSED] = new_due[Stage.PROCESSED]
                    reached[Stage.CLASSIFIED], stage = at, Stage.CLASSIFIED
                    took = self._delay(24 * 9, 0.7)
                    if rng.random() < 0.05:
                        stage = Stage.UNFOUNDED if step(self._delay(72, 1.0)) else stage
                    else:
                        if (
                            t + took > due[Stage.PROCESSED]
                            and rng.random() < 0.5
                            and now > due[Stage.PROCESSED]
                        ):
                            due[Stage.PROCESSED] = self.policy.extended_deadline(
                                received_at=received, current_due=due[Stage.PROCESSED], extensions_so_far=0
                            )
                            extensions = 1
                        at = step(took)
                        if at is not None:
                            reached[Stage.PROCESSED], stage = at, Stage.PROCESSED
        if stage is Stage.DUPLICATE:
            dup_of = rng.randint(max(1, i - 5000), i - 1)
        next_due = _next_due(stage, reached, due)
        transitions = sum(1 for s in reached if s is not Stage.RECEIVED) + (stage not in reached)
        text = self.texts[i % len(self.texts)]
        return (
            i,
            receipt_code(i),
            text,
            Channel.WEB.value if rng.random() < 0.6 else Channel.TELEGRAM.value,
            category.value if category else None,
            urgent,
            "vi",
            "gần chợ" if rng.random() < 0.3 else None,
            received - timedelta(hours=rng.random() * 48) if rng.random() < 0.4 else None,
            self.province,
            commune,
            remote,
            agency,
            stage.value,
            received,
            reached.get(Stage.VERIFIED),
            reached.get(Stage.CLASSIFIED),
            reached.get(Stage.PROCESSED),
            *(seconds_to(received, reached.get(s)) for s in DEADLINE_STAGES),
            due[Stage.VERIFIED],
            due[Stage.CLASSIFIED],
            due[Stage.PROCESSED],
            next_due,
            at_risk_moment(received, next_due, self.policy.at_risk_fraction),
            extensions,
            1,
            dup_of,
            1 + transitions,
            t,
        )


DEADLINE_STAGES = (Stage.VERIFIED, Stage.CLASSIFIED, Stage.PROCESSED)


def seconds_to(received: datetime, reached: datetime | None) -> int | None:
    """Whole seconds from receipt, as `SqlTipRepository.apply_change` stores them."""
    return None if reached is None else whole_seconds(received, reached)


def _cumulative(weights: Sequence[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def receipt_code(i: int) -> str:
    """Unique, well-formed codes: a bijection of the row number onto 45 bits."""
    value = (i * 0x1F3A5C7B9D1) % 32**9
    body = "".join(ALPHABET[(value >> (5 * k)) & 31] for k in range(9))
    return body + _check_char(body)


def tip_from_record(record: tuple[Any, ...]) -> Tip:
    """The reference side of `--verify`: the generated row as the domain sees it."""
    r = dict(zip(COLUMNS, record, strict=True))
    reached = {Stage.RECEIVED: r["received_at"]}
    for stage in (Stage.VERIFIED, Stage.CLASSIFIED, Stage.PROCESSED):
        if r[f"{stage.value}_at"] is not None:
            reached[stage] = r[f"{stage.value}_at"]
    return Tip(
        id=r["id"],
        receipt_code=r["receipt_code"],
        text=r["text"],
        channel=Channel(r["channel"]),
        category=Category(r["category"]) if r["category"] else None,
        urgent=r["urgent"],
        language=r["language"],
        province_code=r["province_code"],
        commune_code=r["commune_code"],
        remote=r["remote"],
        agency_code=r["agency_code"],
        stage=Stage(r["stage"]),
        received_at=r["received_at"],
        reached=reached,
        due={s: r[f"{s.value}_due_at"] for s in (Stage.VERIFIED, Stage.CLASSIFIED, Stage.PROCESSED)},
        extensions=r["extensions"],
        policy_version=1,
        version=r["version"],
        duplicate_of=r["duplicate_of"],
    )


# --------------------------------------------------------------------------- loading


def stored_form(rows: Sequence[tuple[Any, ...]], columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """Rows as the columns take them: a text or place still given as `str` goes in as its
    UTF-8 bytes (the columns hold ciphertexts; the KPI never reads them, bench/queue.py
    seals them as the app does)."""
    blobs = [k for k, c in enumerate(columns) if c in ("text", "place")]
    return [
        tuple(v.encode() if k in blobs and isinstance(v, str) else v for k, v in enumerate(r)) for r in rows
    ]


async def load_postgres(
    url: str,
    rows: Sequence[tuple[Any, ...]],
    chunk: int = 100_000,
    columns: Sequence[str] = COLUMNS,
) -> float:
    """COPY in one transaction, the usual bulk-load way: the migration's foreign keys and
    secondary indexes are dropped first and recreated afterwards from their own catalogue
    definitions, so every constraint is still checked (in one pass) and the schema ends
    up exactly as the migration made it. The time reported includes the rebuild."""
    conn = await asyncpg.connect(plain_url(url))
    try:
        start = time.perf_counter()
        async with conn.transaction():
            fks = await conn.fetch(
                "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint "
                "WHERE conrelid = 'tips'::regclass AND contype = 'f'"
            )
            indexes = await conn.fetch(
                "SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def "
                "FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid "
                "WHERE i.indrelid = 'tips'::regclass AND c.oid IS NULL"
            )
            for fk in fks:
                await conn.execute(f'ALTER TABLE tips DROP CONSTRAINT "{fk["conname"]}"')
            for ix in indexes:
                await conn.execute(f'DROP INDEX "{ix["name"]}"')
            for lo in range(0, len(rows), chunk):
                records = stored_form(rows[lo : lo + chunk], columns)
                await conn.copy_records_to_table("tips", records=records, columns=columns)
            for ix in indexes:
                await conn.execute(ix["def"])
            for fk in fks:
                await conn.execute(f'ALTER TABLE tips ADD CONSTRAINT "{fk["conname"]}" {fk["def"]}')
            await conn.execute("SELECT setval(pg_get_serial_sequence('tips', 'id'), $1)", len(rows))
        elapsed = time.perf_counter() - start
        await conn.execute("VACUUM ANALYZE tips")
        return elapsed
    finally:
        await conn.close()


def load_sqlite(path: Path, rows: Sequence[tuple[Any, ...]], chunk: int = 100_000) -> float:
    """executemany in big transactions, with the app's journal settings. Like the
    PostgreSQL path: secondary indexes are rebuilt from their own SQL after the load and
    foreign keys are checked once at the end (`PRAGMA foreign_key_check`), not per row.
    Datetimes go through the column type's own bind processor, so the stored text is
    exactly what the application writes. The time reported includes the checks."""
    dialect = sqlite_dialect.dialect()
    to_db = TipRow.__table__.c.received_at.type.bind_processor(dialect)
    assert to_db is not None
    dt_index = [k for k, c in enumerate(COLUMNS) if c in DATETIME_COLUMNS]
    sql = f"INSERT INTO tips ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=OFF")
        start = time.perf_counter()
        indexes = db.execute(
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'index' AND tbl_name = 'tips' AND sql IS NOT NULL"
        ).fetchall()
        for name, _ in indexes:
            db.execute(f'DROP INDEX "{name}"')
        for lo in range(0, len(rows), chunk):
            batch = []
            for row in stored_form(rows[lo : lo + chunk], COLUMNS):
                values = list(row)
                for k in dt_index:
                    values[k] = to_db(values[k])
                batch.append(values)
            db.execute("BEGIN")
            db.executemany(sql, batch)
            db.execute("COMMIT")
        for _, create in indexes:
            db.execute(create)
        broken = db.execute("PRAGMA foreign_key_check(tips)").fetchmany(5)
        if broken:
            raise SystemExit(f"foreign keys broken after the load: {broken}")
        elapsed = time.perf_counter() - start
        db.execute("ANALYZE")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return elapsed
    finally:
        db.close()


async def rebuild_rollups(url: str) -> None:
    """Tips loaded behind the application's back: recompute what it keeps in step."""
    from storage.dashboard_query import rebuild

    engine = create_engine(url)
    try:
        await rebuild(engine)
    finally:
        await engine.dispose()


def plain_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def prepare_pg_database(url: str, reset: bool) -> bool:
    """Create the database if missing (returns True then, so we drop it at the end)."""
    parsed = make_url(url)
    name = parsed.database
    admin = await asyncpg.connect(plain_url(parsed.set(database="postgres").render_as_string(False)))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{name}"')
            return True
    finally:
        await admin.close()
    conn = await asyncpg.connect(plain_url(url))
    try:
        tables = await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        if tables and not reset:
            raise SystemExit(f"database {name} already has {tables} tables; pass --reset to wipe it")
        if tables:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    return False


async def drop_pg_database(url: str) -> None:
    parsed = make_url(url)
    admin = await asyncpg.connect(plain_url(parsed.set(database="postgres").render_as_string(False)))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}"')
    finally:
        await admin.close()


# --------------------------------------------------------------------------- timing


@dataclass
class Timing:
    label: str
    runs: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def line(self) -> str:
        ms = f"median {self.median * 1000:.1f} ms, min {min(self.runs) * 1000:.1f} ms"
        return f"{self.label}: {ms} ({len(self.runs)} runs)"


async def repeat(label: str, fn: Callable[[], Awaitable[object]], reps: int, deadline: float) -> Timing:
    """One warm-up, then up to `reps` timed runs, fewer if the time budget runs out."""
    await fn()
    runs: list[float] = []
    while len(runs) < reps and (not runs or time.monotonic() < deadline):
        start = time.perf_counter()
        await fn()
        runs.append(time.perf_counter() - start)
    return Timing(label, runs)


class Bench:
    """KPI and baseline on one database, through the application's own engine setup."""

    def __init__(self, url: str, province: str, scenario: Scenario) -> None:
        self.engine: AsyncEngine = create_engine(url)
        self.sessions = session_factory(self.engine)
        self.scenario = scenario
        self.service = TipService(
            lambda: SqlUnitOfWork(self.sessions, lambda: Envelope(bytes(32))),
            calendar=default_calendar(),
            clock=lambda: scenario.as_of,
        )

    async def kpi(self, scope: KpiScope, period: Period | None = None) -> KpiReport:
        return await self.service.kpi(period or self.scenario.period, scope, self.scenario.as_of)

    async def baseline(self, scope: KpiScope) -> int:
        """The cheapest honest question about the same cohort: how many tips?"""
        lo, hi = self.scenario.period.bounds()
        where = [TipRow.received_at >= lo, TipRow.received_at < hi]
        if scope.commune_code:
            where.append(TipRow.commune_code == scope.commune_code)
        async with SqlUnitOfWork(self.sessions, lambda: Envelope(bytes(32))) as uow:
            return int(await uow.session.scalar(sa.select(sa.func.count()).where(*where)) or 0)

    async def statements(self, scope: KpiScope) -> list[tuple[str, Any]]:
        """The SQL the KPI sends, with its parameters, captured at the cursor."""
        seen: list[tuple[str, Any]] = []

        def grab(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
            if "FROM tips" in statement:
                seen.append((statement, params))

        sa.event.listen(self.engine.sync_engine, "before_cursor_execute", grab)
        try:
            await self.kpi(scope)
        finally:
            sa.event.remove(self.engine.sync_engine, "before_cursor_execute", grab)
        return seen

    async def explain(self, scope: KpiScope, prefix: str) -> list[list[str]]:
        plans = []
        for statement, params in await self.statements(scope):
            async with self.engine.connect() as conn:
                result = await conn.exec_driver_sql(prefix + statement, params)
                plans.append([" | ".join(str(v) for v in row) for row in result])
        return plans

    async def close(self) -> None:
        await self.engine.dispose()


PG_KEY = ("Scan", "Aggregate", "Gather", "Sort", "Workers", "Buffers", "Execution Time", "Planning Time")


def key_lines(plan: list[str], pg: bool) -> list[str]:
    if not pg:
        return plan
    return [line for line in plan if any(k in line for k in PG_KEY)]


async def measure(
    name: str, url: str, args: argparse.Namespace, scenario: Scenario, commune: str
) -> dict[str, Timing]:
    bench = Bench(url, args.province, scenario)
    pg = name == "PostgreSQL"
    deadline = time.monotonic() + args.budget
    results: dict[str, Timing] = {}
    try:
        for label, scope in (
            ("province-year", KpiScope()),
            (f"commune-year ({commune})", KpiScope(commune_code=commune)),
        ):
            n = await bench.baseline(scope)
            kpi = await repeat(f"{name} KPI {label}", lambda s=scope: bench.kpi(s), args.reps, deadline)  # type: ignore[misc]
            base = await repeat(
                f"{name} count(*) {label}", lambda s=scope: bench.baseline(s), args.reps, deadline
            )  # type: ignore[misc]
            results[label] = kpi
            print(f"  cohort {n:,} tips")
            print(f"  {kpi.line()}")
            print(f"  {base.line()}")
            print(f"  ratio KPI / count(*): {kpi.median / base.median:.1f}x (medians)")
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if pg else "EXPLAIN QUERY PLAN "
            for k, plan in enumerate(await bench.explain(scope, prefix), 1):
                print(f"  plan {k} ({label}):")
                for line in key_lines(plan, pg):
                    print(f"    {line}")
    finally:
        await bench.close()
    return results


# --------------------------------------------------------------------------- verify


def same(a: KpiReport, b: KpiReport) -> list[str]:
    """Differences between two reports; medians compared to a millisecond (SQLite's
    julianday arithmetic is a float of days)."""
    da, db = a.to_dict(), b.to_dict()
    problems = []
    if da["totals"] != db["totals"]:
        problems.append(f"totals {da['totals']} != {db['totals']}")
    for sa_, sb in zip(a.stages, b.stages, strict=True):
        if (sa_.on_time, sa_.late, sa_.open_within_time, sa_.overdue, sa_.not_applicable) != (
            sb.on_time,
            sb.late,
            sb.open_within_time,
            sb.overdue,
            sb.not_applicable,
        ):
            problems.append(f"{sa_.stage.value}: {sa_} != {sb}")
        ma, mb = sa_.median_seconds, sb.median_seconds
        if (ma is None) != (mb is None) or (ma is not None and mb is not None and abs(ma - mb) > 1e-3):
            problems.append(f"{sa_.stage.value} median {ma} != {mb}")
    return problems


async def verify(
    name: str,
    url: str,
    args: argparse.Namespace,
    scenario: Scenario,
    rows: Sequence[tuple[Any, ...]],
    gen: Generator,
) -> int:
    tips = [tip_from_record(r) for r in rows]
    bench = Bench(url, args.province, scenario)
    quiet = gen.communes[-1][0]
    periods = [
        scenario.period,
        Period(date(2026, 10, 1), date(2026, 11, 30)),  # open tips, as_of inside
        Period(date(2026, 2, 14), date(2026, 2, 14)),  # one day
        Period(date(2020, 1, 1), date(2020, 12, 31)),  # empty
    ]
    scopes = [
        KpiScope(),
        KpiScope(commune_code=gen.busiest_commune),
        KpiScope(commune_code=quiet),
        KpiScope(agency_code=f"inspectorate:{args.province}"),
        KpiScope(agency_code=f"police:{gen.busiest_commune}"),
    ]
    failures = 0
    try:
        for period in periods:
            for scope in scopes:
                got = await bench.kpi(scope, period)
                want = kpi_from_tips(tips, period, scope, scenario.as_of, AT_RISK)
                problems = same(got, want)
                failures += bool(problems)
                status = "ok" if not problems else "MISMATCH " + "; ".join(problems)
                print(
                    f"  {name} {period.start}..{period.end} {scope.describe()}: "
                    f"{got.totals.received} tips {status}"
                )
    finally:
        await bench.close()
    return failures


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--province", default="79")
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/hotline_bench")
    p.add_argument("--skip-pg", action="store_true")
    p.add_argument("--skip-sqlite", action="store_true")
    p.add_argument("--reps", type=int, default=5, help="timed runs after one warm-up")
    p.add_argument("--budget", type=float, default=120, help="seconds of timed runs per database")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--verify", action="store_true", help="compare SQL with core.kpi.kpi_from_tips")
    p.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    p.add_argument("--reset", action="store_true", help="wipe an existing PostgreSQL database")
    return p.parse_args(argv)


async def run(args: argparse.Namespace) -> int:
    scenario = Scenario.default()
    gen = Generator(args.province, scenario, seed=args.seed)
    start = time.perf_counter()
    rows = list(gen.rows(args.rows))
    print(
        f"generated {len(rows):,} tips in {time.perf_counter() - start:.1f} s "
        f"(data {scenario.data_start:%Y-%m-%d}..{scenario.as_of:%Y-%m-%d}, "
        f"KPI period {scenario.period.start}..{scenario.period.end}, as of {scenario.as_of.isoformat()})"
    )
    stages: dict[str, int] = {}
    for r in rows:
        stages[r[13]] = stages.get(r[13], 0) + 1
    print("stages:", ", ".join(f"{k} {v:,}" for k, v in sorted(stages.items())))
    commune = gen.busiest_commune
    failures = 0
    if not args.skip_pg:
        created = await prepare_pg_database(args.pg_url, args.reset)
        try:
            await upgrade_database(args.pg_url, args.province)
            elapsed = await load_postgres(args.pg_url, rows)
            await rebuild_rollups(args.pg_url)  # the KPI's monthly rollup (storage/dashboard_query.py)
            print(
                f"PostgreSQL: loaded {len(rows):,} tips in {elapsed:.1f} s "
                f"({len(rows) / elapsed:,.0f} rows/s), "
                "COPY, indexes and foreign keys rebuilt after; then VACUUM ANALYZE"
            )
            if args.verify:
                failures += await verify("PostgreSQL", args.pg_url, args, scenario, rows, gen)
            else:
                await measure("PostgreSQL", args.pg_url, args, scenario, commune)
        finally:
            if created and not args.keep:
                await drop_pg_database(args.pg_url)
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
            path = Path(tmp) / "bench.sqlite"
            url = f"sqlite:///{path}"
            await upgrade_database(url, args.province)
            elapsed = await asyncio.to_thread(load_sqlite, path, rows)
            await rebuild_rollups(url)
            print(
                f"SQLite: loaded {len(rows):,} tips in {elapsed:.1f} s ({len(rows) / elapsed:,.0f} rows/s), "
                f"executemany, 100k-row transactions, indexes rebuilt and foreign keys checked after; "
                f"then ANALYZE; "
                f"file {path.stat().st_size / 2**20:,.0f} MiB"
            )
            if args.verify:
                failures += await verify("SQLite", url, args, scenario, rows, gen)
            else:
                await measure("SQLite", url, args, scenario, commune)
    if args.verify:
        print("verify:", "all agree" if not failures else f"{failures} MISMATCHES")
    return 1 if failures else 0


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    code = asyncio.run(run(args))
    print(f"total {time.perf_counter() - started:.0f} s")
    raise SystemExit(code)


if __name__ == "__main__":
    main()
