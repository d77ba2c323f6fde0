"""Benchmark of the staff queue and the dashboard at 1,000,000 tips in PostgreSQL.

Measures, through the code the HTTP handlers call (`TipService.queue`, `TipService.kpi`,
`TipService.dashboard`) and through the HTTP endpoint itself (aiohttp test client,
signed-in officer): the default queue page (first page and a deep keyset page) of a
commune officer and of a provincial supervisor, a diacritic-insensitive text search, and
the dashboard for a year (KPI + chart data). Each figure is compared, in the same run,
with a bare statement over the same rows (the ratio survives a noisy machine).

    .venv/bin/python bench/queue.py                    # load 1M tips, measure, drop the database
    .venv/bin/python bench/queue.py --keep             # keep the database for later runs
    .venv/bin/python bench/queue.py --reuse            # measure an already loaded database
    .venv/bin/python bench/queue.py --rows 20000       # quick run

The data is `bench/kpi.py`'s generator (real deadline policy, every stage, Zipf-like
spread over province 79's communes, urgent share, categories), with more varied
Vietnamese texts (venue names, streets; a quarter typed without diacritics), sealed as the
app seals them (storage/sealed.py: a data key per tip, AES-GCM) with their blind-index
tokens in the blind index (PostgreSQL: one array a tip in `tip_token_sets`), so the search
measured is the one officers get.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import asyncpg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from core import blind_index
from core.calendar import default_calendar
from core.envelope import Envelope, Place
from core.jurisdiction import Jurisdiction
from core.kpi import KpiScope, Period
from core.queue import Cursor, QueueFilter
from core.services import TipService
from hotline.settings import Settings
from storage import migrate
from storage.db import create_engine, session_factory
from storage.maintenance import upgrade_database
from storage.repositories import SqlUnitOfWork
from storage.sealed import key_place


def _load_kpi_bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_kpi", _HERE / "kpi.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_kpi"] = module
    spec.loader.exec_module(module)
    return module


kpi_bench = _load_kpi_bench()
COLUMNS: tuple[str, ...] = kpi_bench.COLUMNS
#: The bench's master key (the database is dropped at the end; never a real key).
ENVELOPE_HEX = "cd" * 32
ENVELOPE = Envelope(bytes.fromhex(ENVELOPE_HEX))

VENUES = (
    "karaoke Hoa Hồng", "karaoke Ánh Sao", "nhà nghỉ Bình An", "nhà nghỉ Thanh Bình",
    "khách sạn Phú Quý",
    "massage Thiên Đường", "quán bia Hương Quê", "spa Ngọc Lan", "quán cà phê Mây Trắng",
    "tiệm gội đầu Thu Hà", "karaoke Kim Long", "nhà nghỉ Hải Đăng", "quán nhậu Ba Miền",
)  # fmt: skip
STREETS = (
    "đường Lê Lợi", "đường Nguyễn Huệ", "đường Trần Hưng Đạo", "đường Hai Bà Trưng",
    "đường Cách Mạng Tháng Tám",
    "đường Võ Văn Kiệt", "hẻm 12 Phan Xích Long", "đường Nguyễn Trãi", "chợ Bến Thành",
    "đường Lý Thường Kiệt",
)  # fmt: skip


def strip_marks(text: str) -> str:
    """What people type on a phone without Vietnamese input: no diacritics, case kept."""
    import unicodedata

    out = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return unicodedata.normalize("NFC", "".join(c for c in out if not unicodedata.combining(c)))


def tip_texts(seed: int, n: int = 6000) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        parts = [rng.choice(kpi_bench.PHRASES) for _ in range(rng.randint(1, 4))]
        if rng.random() < 0.6:
            where = f"Địa điểm: {rng.choice(VENUES)}, số {rng.randint(1, 400)} {rng.choice(STREETS)}."
            parts.insert(rng.randint(0, len(parts)), where)
        text = " ".join(parts)
        texts.append(strip_marks(text) if rng.random() < 0.25 else text)
    return texts


@dataclass
class Sealed:
    """The generated tips as stored: rows with ciphertexts, wrapped keys, tokens."""

    rows: list[tuple[Any, ...]]
    keys: list[tuple[int, str, bytes]]
    tokens: list[tuple[int, list[int]]]


def generate(rows: int, province: str, seed: int) -> tuple[Sealed, Any]:
    """`bench/kpi.py`'s rows, each tip's text and place sealed under its own data key (as
    `TipCipher.seal_tip` does; the tokens of a text are computed once per distinct text)."""
    gen = kpi_bench.Generator(province, kpi_bench.Scenario.default(), seed=seed)
    gen.texts = tip_texts(seed)
    index_key = ENVELOPE.index_keys()[0]
    cached: dict[tuple[str, str | None], list[int]] = {}
    out = Sealed([], [], [])
    text_at, place_at, code_at = COLUMNS.index("text"), COLUMNS.index("place"), COLUMNS.index("receipt_code")
    for row in gen.rows(rows):
        tip_id, code, text, place = row[0], row[code_at], row[text_at], row[place_at]
        data_key = ENVELOPE.new_data_key()
        values = list(row)
        values[text_at] = ENVELOPE.encrypt(data_key, text, Place("tips", code, "text"))
        if place is not None:
            values[place_at] = ENVELOPE.encrypt(data_key, place, Place("tips", code, "place"))
        out.rows.append(tuple(values))
        out.keys.append((tip_id, ENVELOPE.key_id, ENVELOPE.wrap(data_key, key_place(code))))
        words = cached.get((text, place))
        if words is None:
            words = cached[(text, place)] = blind_index.tokens(index_key, text, place)
        if words:
            out.tokens.append((tip_id, words))
    return out, gen


async def load_postgres(url: str, sealed: Sealed) -> float:
    """`bench/kpi.py`'s loader (COPY in one transaction, foreign keys and secondary indexes
    rebuilt from their catalogue definitions, VACUUM ANALYZE), then the wrapped keys and
    the blind index the same way; the rollups are rebuilt by the caller."""
    loaded: float = await kpi_bench.load_postgres(url, sealed.rows, columns=COLUMNS)
    start = time.perf_counter()
    conn = await asyncpg.connect(kpi_bench.plain_url(url))
    try:
        async with conn.transaction():
            for table, columns, records in (
                ("tip_keys", ["tip_id", "key_id", "wrapped_key"], sealed.keys),
                ("tip_token_sets", ["tip_id", "tokens"], sealed.tokens),
            ):
                constraints = await conn.fetch(
                    "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint "
                    f"WHERE conrelid = '{table}'::regclass ORDER BY contype = 'f'"
                )
                indexes = await conn.fetch(
                    "SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def "
                    "FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid "
                    f"WHERE i.indrelid = '{table}'::regclass AND c.oid IS NULL"
                )
                for c in reversed(constraints):
                    await conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{c["conname"]}"')
                for ix in indexes:
                    await conn.execute(f'DROP INDEX "{ix["name"]}"')
                for lo in range(0, len(records), step := 500_000):
                    await conn.copy_records_to_table(table, records=records[lo : lo + step], columns=columns)
                for c in constraints:
                    await conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{c["conname"]}" {c["def"]}')
                for ix in indexes:
                    await conn.execute(ix["def"])
        await conn.execute("VACUUM ANALYZE tip_keys")
        await conn.execute("VACUUM ANALYZE tip_token_sets")
    finally:
        await conn.close()
    return loaded + time.perf_counter() - start


# --------------------------------------------------------------------------- timing


@dataclass
class Timing:
    label: str
    runs: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def p95(self) -> float:
        ordered = sorted(self.runs)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]

    def ms(self) -> str:
        return f"median {self.median * 1000:7.1f} ms, p95 {self.p95 * 1000:7.1f} ms ({len(self.runs)} runs)"


async def repeat(fn: Callable[[], Awaitable[object]], reps: int, label: str = "") -> Timing:
    """One warm-up run, then `reps` timed runs."""
    await fn()
    runs = []
    for _ in range(reps):
        start = time.perf_counter()
        await fn()
        runs.append(time.perf_counter() - start)
    return Timing(label, runs)


@dataclass
class Officers:
    commune: Jurisdiction
    province: Jurisdiction


def officers(commune: str, province: str) -> Officers:
    """The jurisdictions `core.jurisdiction.jurisdiction_of` gives a commune police officer
    and the provincial police supervisor."""
    from core.jurisdiction import jurisdiction_of
    from core.officers import Officer, Role

    officer = Officer(0, "bench-commune", f"police:{commune}", commune, Role.OFFICER, "")
    supervisor = Officer(0, "bench-province", f"police:{province}", province, Role.SUPERVISOR, "")
    return Officers(
        jurisdiction_of(officer, area_is_province=False), jurisdiction_of(supervisor, area_is_province=True)
    )


class QueueBench:
    def __init__(self, url: str, province: str) -> None:
        scenario = kpi_bench.Scenario.default()
        self.scenario = scenario
        self.engine = create_engine(url)
        self.sessions = session_factory(self.engine)
        self.service = TipService(
            lambda: SqlUnitOfWork(self.sessions, lambda: ENVELOPE),
            calendar=default_calendar(),
            clock=lambda: scenario.as_of,
        )
        self.statements: list[tuple[str, Any]] = []
        self._capture = False

        def grab(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
            if self._capture and "FROM tips" in statement:
                self.statements.append((statement, params))

        sa.event.listen(self.engine.sync_engine, "before_cursor_execute", grab)

    async def captured(self, fn: Callable[[], Awaitable[object]]) -> list[tuple[str, Any]]:
        self.statements, self._capture = [], True
        try:
            await fn()
        finally:
            self._capture = False
        return self.statements

    async def explain(self, fn: Callable[[], Awaitable[object]]) -> list[list[str]]:
        plans = []
        for statement, params in await self.captured(fn):
            async with self.engine.connect() as conn:
                result = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
                plans.append([str(row[0]) for row in result])
        return plans

    async def bare(self, sql: str, *args: Any) -> int:
        """The baseline: a hand-written statement through the same engine and driver."""
        async with self.engine.connect() as conn:
            return len((await conn.exec_driver_sql(sql, args)).all())

    async def close(self) -> None:
        await self.engine.dispose()


PLAN_KEYS = (
    "Scan",
    "Index Cond",
    "Recheck",
    "Sort",
    "Limit",
    "Aggregate",
    "Gather",
    "Execution Time",
    "Heap",
)


def key_lines(plan: list[str]) -> list[str]:
    return [line for line in plan if any(k in line for k in PLAN_KEYS)][:14]


async def deep_cursor(
    bench: QueueBench, within: Jurisdiction, query: QueueFilter, skip: int
) -> Cursor | None:
    """The cursor after `skip` tips of the queue, reached by paging as a client would."""
    cursor: Cursor | None = None
    seen = 0
    while seen < skip:
        page = await bench.service.queue(
            within, QueueFilter(**{**query.__dict__, "after": cursor, "limit": 500})
        )
        seen += len(page.items)
        if page.next is None:
            break
        cursor = page.next
    return cursor


COLS = "id, stage, category, urgent, commune_code, agency_code, received_at, next_due_at, at_risk_at"


async def measure(args: argparse.Namespace, url: str) -> list[tuple[str, Timing, Timing | None]]:
    bench = QueueBench(url, args.province)
    who = officers(args.commune, args.province)
    unit = f"police:{args.commune}"
    results: list[tuple[str, Timing, Timing | None]] = []
    plans: dict[str, list[list[str]]] = {}
    reps = args.reps

    async def case(
        label: str, fn: Callable[[], Awaitable[object]], base: Callable[[], Awaitable[object]] | None
    ) -> None:
        t = await repeat(fn, reps, label)
        b = await repeat(base, reps, label) if base is not None else None
        results.append((label, t, b))
        ratio = f"  bare {b.median * 1000:6.1f} ms  ratio {t.median / b.median:5.1f}x" if b else ""
        print(f"  {label:48s} {t.ms()}{ratio}", flush=True)
        if args.explain:
            plans[label] = await bench.explain(fn)

    try:
        order = "ORDER BY urgent DESC, next_due_at ASC NULLS LAST, id LIMIT 51"
        misconduct = "(category IS NULL OR category != 'official_misconduct')"
        for name, within, scope_sql, scope_args in (
            ("commune officer", who.commune, "agency_code = $1", (unit,)),
            (
                "provincial supervisor",
                who.province,
                "agency_code LIKE 'police:%' AND province_code = $1",
                (args.province,),
            ),
        ):
            first = QueueFilter()
            await case(
                f"queue, first page, {name}",
                lambda w=within, q=first: bench.service.queue(w, q),  # type: ignore[misc]
                lambda s=scope_sql, a=scope_args: bench.bare(  # type: ignore[misc]
                    f"SELECT {COLS} FROM tips WHERE {s} AND {misconduct} AND next_due_at IS NOT NULL {order}",
                    *a,
                ),
            )
            depth = args.deep_commune if within is who.commune else args.deep_province
            cursor = await deep_cursor(bench, within, first, depth)
            if cursor is not None:
                deep = QueueFilter(after=cursor)
                await case(
                    f"queue, page after {depth:,} tips, {name}",
                    lambda w=within, q=deep: bench.service.queue(w, q),  # type: ignore[misc]
                    None,
                )
            for words in args.search:
                q = QueueFilter(text=words)
                groups = blind_index.query_tokens(ENVELOPE.index_keys(), words)
                await case(
                    f"search {words!r}, {name}",
                    lambda w=within, q=q: bench.service.queue(w, q),  # type: ignore[misc]
                    lambda s=scope_sql, a=scope_args, g=groups: bench.bare(  # type: ignore[misc]
                        f"SELECT {COLS} FROM tips WHERE {s} AND {misconduct} AND next_due_at IS NOT NULL "
                        + "".join(
                            "AND id IN (SELECT tip_id FROM tip_token_sets"
                            f" WHERE tokens && ${len(a) + k + 1}) "
                            for k in range(len(g))
                        )
                        + order,
                        *a,
                        *(list(t) for t in g),
                    ),
                )
        period = Period(date(2025, 11, 1), date(2026, 10, 31))
        lo, hi = period.bounds()
        for name, within in (("provincial supervisor", who.province), ("commune officer", who.commune)):
            await case(
                f"KPI for a year, {name}",
                lambda w=within: bench.service.kpi(period, KpiScope(), bench.scenario.as_of, w),  # type: ignore[misc]
                lambda: bench.bare(
                    "SELECT count(*) FROM tips WHERE received_at >= $1 AND received_at < $2", lo, hi
                ),
            )
            if args.dashboard:
                await case(
                    f"dashboard for a year (KPI + charts), {name}",
                    lambda w=within: dashboard(bench, period, w),  # type: ignore[misc]
                    None,
                )
            if args.dashboard:
                for label, span in (
                    ("the last 12 months", Period(date(2025, 11, 21), date(2026, 11, 20))),
                    ("the last 30 days", Period(date(2026, 10, 22), date(2026, 11, 20))),
                ):
                    await case(
                        f"dashboard for {label}, {name}",
                        lambda w=within, p=span: dashboard(bench, p, w),  # type: ignore[misc]
                        None,
                    )
        if args.http:
            await measure_http(args, url, results)
        if args.dashboard:
            await verify_kpi(bench, who, period)
    finally:
        await bench.close()
    for label, plan_list in plans.items():
        print(f"plans: {label}")
        for k, plan in enumerate(plan_list, 1):
            print(f"  statement {k}:")
            for line in key_lines(plan):
                print(f"    {line}")
    return results


async def verify_kpi(bench: QueueBench, who: Officers, year: Period) -> None:
    """The rollup-based KPI against the plain one-pass SQL (`compute_kpi`) on this data."""
    from storage.kpi_query import compute_kpi
    from storage.scoping import within_where

    for period in (year, Period(date(2025, 12, 10), date(2026, 11, 19))):
        for within in (who.province, who.commune):
            async with SqlUnitOfWork(bench.sessions, lambda: ENVELOPE) as uow:
                fast = await uow.tips.kpi(period, KpiScope(), bench.scenario.as_of, 0.75, within)
                plain = await compute_kpi(
                    uow.session, period, KpiScope(), bench.scenario.as_of, within_where(within)
                )
            status = "same" if fast == plain else f"DIFFERENT\n{fast}\n{plain}"
            print(
                f"  verify {period.start}..{period.end} {within.agency_code or within.agency_kind}: {status}"
            )


async def dashboard(bench: QueueBench, period: Period, within: Jurisdiction) -> object:
    async with SqlUnitOfWork(bench.sessions, lambda: ENVELOPE) as uow:
        return await uow.tips.dashboard(period, bench.scenario.as_of, within)


async def measure_http(
    args: argparse.Namespace, url: str, results: list[tuple[str, Timing, Timing | None]]
) -> None:
    """The same questions through `GET /api/v1/staff/tips` and `/api/v1/staff/kpi` of the
    real app (aiohttp test server in this process), signed in as each officer."""
    import tempfile

    import pyotp
    from aiohttp.test_utils import TestClient, TestServer

    from core.errors import DuplicateKey
    from core.officers import Role
    from handlers.app import create_app
    from handlers.keys import SERVICES

    as_of = kpi_bench.Scenario.default().as_of
    secret = pyotp.random_base32()
    password = "bench password, long enough"
    with tempfile.TemporaryDirectory(prefix="hotline-bench-queue-") as tmp:
        settings = Settings(
            database_url=url, data_dir=Path(tmp), province=args.province, master_key=ENVELOPE_HEX
        )
        app = create_app(settings, clock=lambda: as_of)
        async with TestClient(TestServer(app)) as client:
            services = app[SERVICES]
            headers = {}
            for key, agency, area, role in (
                ("commune officer", f"police:{args.commune}", args.commune, Role.OFFICER),
                ("provincial supervisor", f"police:{args.province}", args.province, Role.SUPERVISOR),
            ):
                username = f"bench-{role.value}-{area}-{secret[:6].lower()}"
                try:
                    await services.staff.add_officer(
                        username=username, password=password, agency_code=agency, area_code=area,
                        role=role, totp_secret=secret,
                    )  # fmt: skip
                except DuplicateKey:
                    pass
                signed = await services.staff.sign_in(username, password, pyotp.TOTP(secret).at(as_of))
                headers[key] = {"Cookie": f"hotline_staff={signed.token}"}

            async def get(path: str, h: dict[str, str]) -> object:
                resp = await client.get(path, headers=h)
                assert resp.status == 200, await resp.text()
                return await resp.read()

            for key, h in headers.items():
                for label, path in (
                    ("queue, first page", "/api/v1/staff/tips"),
                    ("search 'nha nghi'", "/api/v1/staff/tips?q=nha%20nghi"),
                    ("KPI for a year", "/api/v1/staff/kpi?from=2025-11-01&to=2026-10-31"),
                ):
                    t = await repeat(lambda p=path, hh=h: get(p, hh), args.reps)  # type: ignore[misc]
                    results.append((f"HTTP {label}, {key}", t, None))
                    print(f"  {'HTTP ' + label + ', ' + key:48s} {t.ms()}", flush=True)


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--province", default="79")
    p.add_argument("--commune", default=None, help="the commune officer's commune (default: the busiest)")
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/hotline_bench_queue")
    p.add_argument("--reps", type=int, default=15, help="timed runs after one warm-up")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--search", nargs="*", default=["karaoke", "nha nghi", "hoa hong", "thiên đường"])
    p.add_argument("--deep-commune", type=int, default=3000, help="tips skipped for the deep page")
    p.add_argument("--deep-province", type=int, default=30000)
    p.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE key lines")
    p.add_argument("--no-http", dest="http", action="store_false")
    p.add_argument("--no-dashboard", dest="dashboard", action="store_false")
    p.add_argument("--keep", action="store_true", help="keep the database at the end")
    p.add_argument("--reuse", action="store_true", help="measure the database already loaded")
    return p.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    url = args.pg_url
    if not args.reuse:
        start = time.perf_counter()
        rows, gen = generate(args.rows, args.province, args.seed)
        args.commune = args.commune or gen.busiest_commune
        print(
            f"generated and sealed {len(rows.rows):,} tips"
            f" ({sum(len(t) for _, t in rows.tokens):,} blind-index tokens)"
            f" in {time.perf_counter() - start:.1f} s"
        )
        await kpi_bench.prepare_pg_database(url, reset=True)
        await upgrade_database(url, args.province)
        elapsed = await load_postgres(url, rows)
        start = time.perf_counter()
        await kpi_bench.rebuild_rollups(url)
        rollups = time.perf_counter() - start
        conn = await asyncpg.connect(kpi_bench.plain_url(url))
        try:
            await conn.execute("VACUUM ANALYZE")
        finally:
            await conn.close()
        print(
            f"PostgreSQL: loaded in {elapsed:.1f} s (COPY, indexes rebuilt after), "
            f"rollups rebuilt in {rollups:.1f} s, VACUUM ANALYZE done"
        )
        del rows
    else:
        engine = create_engine(url)
        try:
            await migrate.upgrade(engine)  # applies any newer migration to the loaded tips
        finally:
            await engine.dispose()
        conn = await asyncpg.connect(kpi_bench.plain_url(url))
        try:
            args.commune = args.commune or await conn.fetchval(
                "SELECT commune_code FROM tips WHERE commune_code IS NOT NULL "
                "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
            )
            await conn.execute("ANALYZE tips")
        finally:
            await conn.close()
    print(f"commune officer: police:{args.commune}; provincial supervisor: police, province {args.province}")
    try:
        await measure(args, url)
    finally:
        if not args.keep:
            await kpi_bench.drop_pg_database(url)
            print(f"dropped {make_url(url).database}")


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    asyncio.run(run(args))
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
