"""Report benchmark: the annual provincial report (`hotline report`) on PostgreSQL over a
year of 1,000,000 tips (every channel, category and stage), 50,000 establishments with their
inspections and hotspots, 100,000 support cases with referrals, 5,000 training sessions and
offline outreach in every commune. The data is made in the database with set-based SQL
(INSERT ... SELECT generate_series) through the real migration. Times the gathering
(indicators + counts + KPI + reach), the writing of XLSX, DOCX and PDF (where LibreOffice
is), and the process's peak memory.

Baseline in the same run: the indicators alone (`hotline indicators` for the same period).

    PYTHONPATH=. .venv/bin/python bench/report.py [--tips 1000000] [--establishments 50000]
        [--cases 100000] [--sessions 5000] [--formats xlsx docx pdf] [--pg URL]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import resource
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # bench/queue.py must not shadow the standard library's queue

from core.kpi import Period
from hotline import report as report_files
from hotline.bootstrap import open_services
from hotline.settings import Settings
from storage.dashboard_query import rebuild
from storage.db import create_engine
from storage.maintenance import upgrade_database

PROVINCE = "79"
CHANNELS = ["web", "telegram", "zalo", "phone", "in_person", "letter", "tip_box", "forwarded"]
CATEGORIES = ["venue", "online", "trafficking", "minor", "street", "official_misconduct", "complaint",
              "obscene_material", "info_request", "spam"]  # fmt: skip
KINDS = ("health", "violence", "counselling", "legal", "vocational", "job", "loan", "other")
STATES = ("received", "assessed", "referred", "service_received", "declined", "unreachable", "closed")
CHUNK = 5000


async def _admin(url: str, sql: str) -> None:
    u = make_url(url)
    conn = await asyncpg.connect(host=u.host, port=u.port, user=u.username, database="postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def load(settings: Settings, args: argparse.Namespace) -> dict[str, float]:
    """Set-based generation (INSERT ... SELECT generate_series) in the database itself;
    returns the seconds each part took."""
    from bench.establishments import generate as register

    took: dict[str, float] = {}
    url = settings.effective_database_url
    u = make_url(url)
    conn = await asyncpg.connect(host=u.host, port=u.port, user=u.username, database=u.database)
    try:
        communes = [
            r["code"]
            for r in await conn.fetch(
                "SELECT code FROM areas WHERE province_code = $1 AND level = 'commune' ORDER BY code",
                PROVINCE,
            )
        ]
        n = len(communes)
        started = time.perf_counter()
        # Establishments, inspections and hotspots as bench/establishments.py makes them (no tips yet).
        await register(
            f"postgresql://{u.username}@{u.host}:{u.port}/{u.database}",
            args.establishments,
            args.establishments * 2,
            0,
            args.establishments // 10,
        )
        took["establishments, inspections, hotspots"] = time.perf_counter() - started

        started = time.perf_counter()
        policy = await conn.fetchval("SELECT min(version) FROM deadline_policies")
        # A year of tips: every channel and category, every stage, reached early or late.
        await conn.execute(
            """
            INSERT INTO tips (receipt_code, text, channel, category, urgent, province_code, commune_code,
                remote, agency_code, stage, received_at, verified_at, classified_at, processed_at,
                verified_secs, classified_secs, processed_secs, verified_due_at, classified_due_at,
                processed_due_at, next_due_at, at_risk_at, extensions, policy_version, version, updated_at)
            SELECT 'R' || lpad(to_hex(g), 15, '0'), 'Tin báo số ' || g, ($2::text[])[1 + (g / 7) % 8],
                   CASE WHEN g % 20 = 0 THEN NULL ELSE ($3::text[])[1 + (g / 3) % 10] END, g % 50 = 0,
                   $4::text, c, false, 'police:' || c, st, t,
                   CASE WHEN st <> 'received' THEN t + v END,
                   CASE WHEN st IN ('classified', 'processed', 'referred') THEN t + v * 2 END,
                   CASE WHEN st = 'processed' THEN t + v * 20 END,
                   CASE WHEN st <> 'received' THEN extract(epoch FROM v)::int END,
                   CASE WHEN st IN ('classified', 'processed', 'referred')
                        THEN extract(epoch FROM v * 2)::int END,
                   CASE WHEN st = 'processed' THEN extract(epoch FROM v * 20)::int END,
                   t + interval '1 day', t + interval '3 days', t + interval '30 days',
                   CASE st WHEN 'received' THEN t + interval '1 day'
                           WHEN 'verified' THEN t + interval '3 days'
                           WHEN 'classified' THEN t + interval '30 days' END,
                   CASE st WHEN 'received' THEN t + interval '18 hours'
                           WHEN 'verified' THEN t + interval '2 days'
                           WHEN 'classified' THEN t + interval '25 days' END,
                   0, $5, 1, t
            FROM generate_series(1, $1) AS g,
                 LATERAL (SELECT timestamptz '2026-01-01 00:00+07'
                                     + make_interval(secs => (g::bigint * 61) % 31536000),
                                 ($6::text[])[1 + g % $7],
                                 (ARRAY['received', 'verified', 'classified', 'processed',
                                        'processed', 'processed', 'processed', 'referred',
                                        'unfounded', 'duplicate'])[1 + g % 10],
                                 make_interval(mins => 30 + (g * 37) % 2400)) x(t, c, st, v)
            """,
            args.tips,
            CHANNELS,
            CATEGORIES,
            PROVINCE,
            policy,
            communes,
            n,
        )
        took["tips"] = time.perf_counter() - started
        started = time.perf_counter()
        # The KPI's monthly and daily roll-ups of closed tips, as after any bulk load.
        engine = create_engine(url)
        try:
            await rebuild(engine)
        finally:
            await engine.dispose()
        took["KPI roll-ups"] = time.perf_counter() - started

        started = time.perf_counter()
        await conn.execute(
            "INSERT INTO support_providers (name, kinds, communes, contact, free) "
            "SELECT 'Nơi hỗ trợ ' || g, 'health', '', '', true FROM generate_series(1, 50) AS g"
        )
        await conn.execute(
            """
            INSERT INTO support_cases (receipt_code, passphrase_hash, commune_code, province_code, kinds,
                state, assessed, served, received_at, first_contact_due)
            SELECT 'B' || lpad(g::text, 9, '0'), 'x',
                   CASE WHEN g % 25 = 0 THEN NULL ELSE ($2::text[])[1 + g % $3] END, $4,
                   ($5::text[])[1 + g % 8]
                     || CASE WHEN g % 3 = 0 THEN ',' || ($5::text[])[1 + (g / 8) % 8] ELSE '' END,
                   st, st <> 'received', st = 'service_received', t, t + interval '2 days'
            FROM generate_series(1, $1) AS g,
                 LATERAL (SELECT timestamptz '2026-01-01 00:00+07'
                                     + make_interval(mins => (g * 53) % 525600),
                                 ($6::text[])[1 + (g / 5) % 7]) x(t, st)
            """,
            args.cases,
            communes,
            n,
            PROVINCE,
            list(KINDS),
            list(STATES),
        )
        await conn.execute(
            """
            INSERT INTO support_referrals (case_id, provider_id, kinds, at, outcome)
            SELECT id, 1 + id % 50, kinds, received_at + interval '3 days',
                   CASE WHEN served THEN 'received' WHEN state = 'declined' THEN 'declined' END
            FROM support_cases WHERE state NOT IN ('received', 'assessed')
            """
        )
        took["support cases and referrals"] = time.perf_counter() - started

        started = time.perf_counter()
        await conn.execute(
            "INSERT INTO staff_counts (agency_code, level, staff) SELECT code, "
            "CASE WHEN length(area_code) = 2 THEN 'province' ELSE 'commune' END, 20 FROM agencies"
        )
        await conn.execute(
            """
            INSERT INTO training_sessions (held_on, level, agency_code, topic, created_by)
            SELECT date '2026-01-01' + (g * 7) % 365,
                   CASE WHEN a.area_code = $2 THEN 'province' ELSE 'commune' END,
                   a.code, 'Tập huấn ' || g, 'bench'
            FROM generate_series(1, $1) AS g
            JOIN LATERAL (SELECT code, area_code FROM agencies ORDER BY code
                          OFFSET g % (SELECT count(*) FROM agencies) LIMIT 1) a ON true
            """,
            args.sessions,
            PROVINCE,
        )
        await conn.execute(
            "INSERT INTO training_attendance (session_id, agency_code, participants) "
            "SELECT id, agency_code, 1 + id % 5 FROM training_sessions"
        )
        await conn.execute(
            """
            INSERT INTO outreach_activities (held_on, commune_code, kind, audience, reached, created_by)
            SELECT date '2026-01-01' + (g * 11) % 365, ($2::text[])[1 + g % $3],
                   (ARRAY['meeting', 'poster', 'school_talk', 'other'])[1 + g % 4],
                   (ARRAY['student', 'worker', 'parent'])[1 + g % 3], 20 + g % 200, 'bench'
            FROM generate_series(1, $1) AS g
            """,
            n * 5,
            communes,
            n,
        )
        took["training and outreach"] = time.perf_counter() - started
        started = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        took["vacuum analyze"] = time.perf_counter() - started
    finally:
        await conn.close()
    return took


async def measure(settings: Settings, formats: list[str], keep: Path | None) -> dict[str, float]:
    period = Period(date(2026, 1, 1), date(2026, 12, 31))
    out: dict[str, float] = {}
    async with open_services(settings) as services:
        t = time.perf_counter()
        await services.establishments.indicators(period, None)
        out["indicators (baseline)"] = time.perf_counter() - t
        t = time.perf_counter()
        found = await report_files.gather(services, period, None)
        out["gather"] = time.perf_counter() - t
    for chart in found.charts:
        print(chart.title, dict(zip(chart.labels, [round(v, 3) for v in chart.values], strict=True)))
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in formats:
            if fmt == "pdf" and report_files.soffice() is None:
                continue
            t = time.perf_counter()
            report_files.write(found, fmt, Path(tmp) / f"r.{fmt}")
            out[f"write {fmt}"] = time.perf_counter() - t
            if keep is not None:
                keep.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (after the timing)
                shutil.copy(Path(tmp) / f"r.{fmt}", keep / f"report.{fmt}")
    return out


async def run(args: argparse.Namespace) -> None:
    name = make_url(args.pg).database
    await _admin(args.pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _admin(args.pg, f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                database_url=args.pg, data_dir=Path(tmp) / "var", province=PROVINCE, master_key="ab" * 32
            )
            await upgrade_database(settings.effective_database_url, PROVINCE)
            loaded = await load(settings, args)
            figures = await measure(settings, args.formats, args.keep)
    finally:
        await _admin(args.pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"machine: {platform.machine()} {platform.python_version()}")
    print(
        f"{args.tips} tips, {args.establishments} establishments, {args.cases} support cases, "
        f"{args.sessions} training sessions"
    )
    for label, seconds in loaded.items():
        print(f"load {label}: {seconds:.1f} s")
    for label, seconds in figures.items():
        print(f"{label}: {seconds:.2f} s")
    for fmt in [f for f in args.formats if f"write {f}" in figures]:
        print(f"report total (gather + {fmt}): {figures['gather'] + figures[f'write {fmt}']:.2f} s")
    print(f"peak RSS of the process (generation runs in PostgreSQL): {peak_mib:.0f} MiB")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS of a child (LibreOffice's conversion): {children:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tips", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="a directory to keep the report files in, to look at")
    parser.add_argument("--establishments", type=int, default=50_000)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--formats", nargs="+", default=["xlsx", "docx", "pdf"], choices=report_files.FORMATS)
    parser.add_argument("--sessions", type=int, default=5_000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/hotline_bench_report")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
