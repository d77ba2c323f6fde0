"""Report benchmark: the annual provincial report (`hotline report`) over N support cases
(default 100,000, with referrals), S training sessions (default 5,000) and offline outreach
activities in every commune, on PostgreSQL. Times the gathering (indicators + counts) and
the writing of XLSX and DOCX, and the process's peak memory.

Baseline in the same run: the indicators alone (`hotline indicators` for the same period).
Tips and establishments are NOT generated at scale here (see docs/benchmarks.md).

    PYTHONPATH=. .venv/bin/python bench/report.py [--cases 100000] [--sessions 5000] [--pg URL]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # bench/queue.py must not shadow the standard library's queue

from core.kpi import Period
from hotline import report as report_files
from hotline.bootstrap import open_services
from hotline.settings import Settings
from storage.maintenance import upgrade_database
from storage.models import AgencyRow, AreaRow
from storage.support_tables import (
    OutreachActivityRow,
    StaffCountRow,
    SupportCaseRow,
    SupportProviderRow,
    SupportReferralRow,
    TrainingAttendanceRow,
    TrainingSessionRow,
)

PROVINCE = "79"
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


async def load(settings: Settings, cases: int, sessions: int) -> float:
    started = time.perf_counter()
    rng = random.Random(7)
    async with open_services(settings) as services:
        async with services.engine.begin() as conn:
            communes = list(
                await conn.scalars(sa.select(AreaRow.code).where(AreaRow.province_code == PROVINCE))
            )
            agencies = list(await conn.execute(sa.select(AgencyRow.code, AgencyRow.area_code)))
            await conn.execute(
                sa.insert(SupportProviderRow),
                [
                    {
                        "name": f"Nơi hỗ trợ {i}",
                        "kinds": "health",
                        "communes": "",
                        "contact": "",
                        "free": True,
                    }
                    for i in range(50)
                ],
            )
            year = datetime(2026, 1, 1, tzinfo=UTC)
            for start in range(0, cases, CHUNK):
                rows = []
                for i in range(start, min(cases, start + CHUNK)):
                    at = year + timedelta(minutes=rng.randint(0, 365 * 24 * 60 - 1))
                    state = rng.choice(STATES)
                    rows.append(
                        {
                            "id": i + 1,
                            "receipt_code": f"B{i:09d}",
                            "passphrase_hash": "x",
                            "commune_code": rng.choice(communes),
                            "province_code": PROVINCE,
                            "kinds": ",".join(sorted(rng.sample(KINDS, rng.randint(1, 2)))),
                            "state": state,
                            "assessed": state != "received",
                            "served": state == "service_received",
                            "received_at": at,
                            "first_contact_due": at + timedelta(days=2),
                        }
                    )
                await conn.execute(sa.insert(SupportCaseRow), rows)
                await conn.execute(
                    sa.insert(SupportReferralRow),
                    [
                        {
                            "case_id": r["id"],
                            "provider_id": rng.randint(1, 50),
                            "kinds": r["kinds"],
                            "at": r["received_at"],
                            "outcome": "received" if r["served"] else None,
                        }
                        for r in rows
                        if r["state"] not in ("received", "assessed")
                    ],
                )
            await conn.execute(
                sa.insert(StaffCountRow),
                [
                    {"agency_code": code, "level": "province" if len(area) == 2 else "commune", "staff": 20}
                    for code, area in agencies
                ],
            )
            for start in range(0, sessions, CHUNK):
                ids = range(start + 1, min(sessions, start + CHUNK) + 1)
                picked = [rng.choice(agencies) for _ in ids]
                await conn.execute(
                    sa.insert(TrainingSessionRow),
                    [
                        {
                            "id": i,
                            "held_on": date(2026, 1, 1) + timedelta(days=rng.randint(0, 364)),
                            "level": "province" if len(a[1]) == 2 else "commune",
                            "agency_code": a[0],
                            "topic": "Tập huấn",
                            "created_by": "bench",
                        }
                        for i, a in zip(ids, picked, strict=True)
                    ],
                )
                await conn.execute(
                    sa.insert(TrainingAttendanceRow),
                    [
                        {"session_id": i, "agency_code": a[0], "participants": rng.randint(1, 5)}
                        for i, a in zip(ids, picked, strict=True)
                    ],
                )
            await conn.execute(
                sa.insert(OutreachActivityRow),
                [
                    {
                        "held_on": date(2026, 1, 1) + timedelta(days=rng.randint(0, 364)),
                        "commune_code": c,
                        "kind": "meeting",
                        "audience": "students",
                        "reached": 100,
                        "created_by": "bench",
                    }
                    for c in communes
                    for _ in range(5)
                ],
            )
            await conn.execute(
                sa.text("SELECT setval(pg_get_serial_sequence('support_cases', 'id'), :n)"), {"n": cases}
            )
            await conn.execute(sa.text("ANALYZE"))
    return time.perf_counter() - started


async def measure(settings: Settings) -> dict[str, float]:
    period = Period(date(2026, 1, 1), date(2026, 12, 31))
    out: dict[str, float] = {}
    async with open_services(settings) as services:
        t = time.perf_counter()
        await services.establishments.indicators(period, None)
        out["indicators (baseline)"] = time.perf_counter() - t
        t = time.perf_counter()
        found = await report_files.gather(services, period, None)
        out["gather"] = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("xlsx", "docx"):
            t = time.perf_counter()
            report_files.write(found, fmt, Path(tmp) / f"r.{fmt}")
            out[f"write {fmt}"] = time.perf_counter() - t
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
            loaded = await load(settings, args.cases, args.sessions)
            figures = await measure(settings)
    finally:
        await _admin(args.pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"machine: {platform.machine()} {platform.python_version()}")
    print(f"{args.cases} support cases, {args.sessions} training sessions")
    print(f"load: {loaded:.1f} s")
    for label, seconds in figures.items():
        print(f"{label}: {seconds:.2f} s")
    total = figures["gather"] + figures["write xlsx"] + figures["write docx"]
    print(f"report total (gather + xlsx + docx): {total:.2f} s")
    print(f"peak RSS of the process (load included): {peak_mib:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=5_000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/hotline_bench_report")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
