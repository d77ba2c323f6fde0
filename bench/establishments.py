"""Benchmark of the establishments register on PostgreSQL: 50,000 establishments, 200,000
inspections, 1,000,000 tips each linked to an establishment, 5,000 hotspots.

Why: the register's heaviest reads are the province's list filtered "due" (what a
supervisor opens every morning), the plan indicators for a province-year (one pass over the
register with an inspection probe per establishment), and the yearly import of a
province's register file. Data is generated in the database with set-based SQL
(generate_series), through the real migration; the reads and the import go through the
real service (`core.establishment_service`) and storage, and each figure is printed next to
a baseline measured in the same run (a plain count over the same rows), so a loaded machine
shows in both.

    .venv/bin/python bench/establishments.py                       # the full sizes
    .venv/bin/python bench/establishments.py --tips 100000         # quicker

The database named in `--pg-url` is dropped and created again, then dropped at the end
unless `--keep`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import asyncpg
from sqlalchemy.engine import make_url

from core.envelope import Envelope
from core.establishment_service import EstablishmentService, ListQuery
from core.establishments import Scope
from core.establishments_csv import parse
from core.kpi import Period
from storage.db import create_engine, session_factory
from storage.establishments import establishment_store
from storage.maintenance import upgrade_database

PROVINCE = "79"
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
#: The benchmark database's master key (the database is dropped at the end; never a real key).
BENCH_ENVELOPE = Envelope(bytes.fromhex("cd" * 32))
KINDS = ["karaoke", "massage", "guesthouse", "hotel", "boarding_house", "homestay", "bar", "other"]


def dsn(url: str, database: str) -> str:
    return make_url(url).set(drivername="postgresql", database=database).render_as_string(hide_password=False)


async def admin(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(dsn(url, "postgres"))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def generate(
    url: str, establishments: int, inspections: int, tips: int, hotspots: int
) -> dict[str, float]:
    """Set-based generation; returns the seconds each table took."""
    took: dict[str, float] = {}
    conn = await asyncpg.connect(url)
    try:
        communes = [
            r["code"]
            for r in await conn.fetch(
                "SELECT code FROM areas WHERE province_code = $1 AND level = 'commune' ORDER BY code",
                PROVINCE,
            )
        ]
        now = NOW
        started = time.perf_counter()
        await conn.execute(
            """
            INSERT INTO establishments (name, kind, address, commune_code, province_code, licence, status,
                commitment_date, name_key, address_key, created_at, created_by, closed_on, last_inspected)
            SELECT 'Cơ sở ' || g, ($2::text[])[1 + g % 8], g || ' Lê Lợi', ($3::text[])[1 + g % $4], $5,
                   CASE WHEN g % 3 = 0 THEN g || '/GP' END,
                   CASE WHEN g % 50 = 0 THEN 'closed' WHEN g % 4 = 0 THEN 'listed' ELSE 'managed' END,
                   CASE WHEN g % 5 < 3 THEN date '2024-01-01' + (g % 1000) END,
                   'co so ' || g, g || ' le loi',
                   $6::timestamptz - make_interval(days => 30 + g % 900), 'bench',
                   CASE WHEN g % 50 = 0 THEN date '2025-06-01' + (g % 300) END, NULL
            FROM generate_series(1, $1) AS g
            """,
            establishments,
            KINDS,
            communes,
            len(communes),
            PROVINCE,
            now,
        )
        took["establishments"] = time.perf_counter() - started
        started = time.perf_counter()
        await conn.execute(
            """
            INSERT INTO inspections (establishment_id, inspected_on, outcome, team, violation, fine_vnd,
                notes, created_by, created_at)
            SELECT 1 + (g * 7919) % ($2 * 3 / 4),
                   date '2024-12-01' + ((g::bigint * g * 13 + g * 7) % 730)::int,
                   CASE WHEN g % 10 = 0 THEN 'violation' ELSE 'no_violation' END, 'Công an xã',
                   CASE WHEN g % 10 = 0 THEN 'Không đăng ký lưu trú' END,
                   CASE WHEN g % 10 = 0 THEN 5000000 END, '', 'bench', $3
            FROM generate_series(1, $1) AS g
            """,
            inspections,
            establishments,
            now,
        )
        await conn.execute(
            "UPDATE establishments e SET last_inspected = i.last FROM (SELECT establishment_id, "
            "max(inspected_on) AS last FROM inspections GROUP BY establishment_id) i "
            "WHERE i.establishment_id = e.id"
        )
        took["inspections"] = time.perf_counter() - started
        started = time.perf_counter()
        policy = await conn.fetchval("SELECT min(version) FROM deadline_policies")
        await conn.execute(
            """
            INSERT INTO tips (receipt_code, text, channel, category, urgent, province_code, commune_code,
                remote, agency_code, stage, received_at, verified_due_at, classified_due_at, processed_due_at,
                extensions, policy_version, version, updated_at)
            SELECT 'B' || lpad(to_hex(g), 15, '0'), 'Quán karaoke số ' || g, 'web', 'venue', false, $2::text,
                   ($3::text[])[1 + g % $4], false, 'police:' || $2::text, 'processed', t,
                   t + interval '1 day', t + interval '3 days', t + interval '30 days', 0, $5, 1, t
            FROM generate_series(1, $1) AS g,
                 LATERAL (SELECT $6::timestamptz - make_interval(secs => (g * 61) % 63072000)) x(t)
            """,
            tips,
            PROVINCE,
            communes,
            len(communes),
            policy,
            now,
        )
        took["tips"] = time.perf_counter() - started
        started = time.perf_counter()
        await conn.execute(
            """
            INSERT INTO tip_establishments (tip_id, establishment_id, tip_received_at, linked_at, linked_by)
            SELECT id, 1 + (id * 104729) % $1, received_at, received_at + interval '1 day', 'bench' FROM tips
            """,
            establishments,
        )
        took["links"] = time.perf_counter() - started
        started = time.perf_counter()
        await conn.execute(
            """
            INSERT INTO hotspots (name, kind, commune_code, province_code, description, establishment_id,
                state, detected_at, eliminated_at, returns, created_by, updated_at)
            SELECT 'Tụ điểm ' || g, 'street', ($2::text[])[1 + g % $3], $4, '', NULL,
                   (ARRAY['detected', 'dealing', 'eliminated', 'returned'])[1 + g % 4],
                   $5::timestamptz - make_interval(days => 10 + g % 700), NULL,
                   CASE WHEN g % 4 = 3 THEN 1 ELSE 0 END, 'bench', $5
            FROM generate_series(1, $1) AS g
            """,
            hotspots,
            communes,
            len(communes),
            PROVINCE,
            now,
        )
        await conn.execute(
            """
            INSERT INTO hotspot_events (hotspot_id, at, from_state, to_state, actor, tip_id, note)
            SELECT id, detected_at, NULL::text, 'detected', 'bench', NULL::bigint, '' FROM hotspots
            UNION ALL SELECT id, detected_at + interval '5 days', 'detected', 'dealing', 'bench', NULL, ''
              FROM hotspots WHERE state <> 'detected'
            UNION ALL SELECT id, detected_at + interval '9 days', 'dealing', 'eliminated', 'bench', NULL, ''
              FROM hotspots WHERE state IN ('eliminated', 'returned')
            UNION ALL SELECT id, detected_at + interval '60 days', 'eliminated', 'returned', 'bench', NULL, ''
              FROM hotspots WHERE state = 'returned'
            """
        )
        await conn.execute(
            "UPDATE hotspots SET eliminated_at = detected_at + interval '9 days' "
            "WHERE state IN ('eliminated', 'returned')"
        )
        took["hotspots"] = time.perf_counter() - started
        started = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        took["vacuum analyze"] = time.perf_counter() - started
    finally:
        await conn.close()
    return took


async def timed(run: Callable[[], Awaitable[Any]], repeat: int) -> tuple[float, float]:
    """Median and max milliseconds of `repeat` runs after one warm-up."""
    await run()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        await run()
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs), max(runs)


def import_file(rows: int, communes: list[str]) -> str:
    lines = ["name,kind,address,commune_code,licence,status,commitment_date"]
    for n in range(rows):
        lines.append(
            f"Nhà nghỉ Mới {n},nn,{n} Trần Hưng Đạo,{communes[n % len(communes)]},{n}/GP,managed,"
            f"2026-0{1 + n % 9}-15"
        )
    return "\n".join(lines) + "\n"


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--pg-url", default="postgresql://postgres@127.0.0.1:5432/hotline_bench_establishments"
    )
    parser.add_argument("--establishments", type=int, default=50_000)
    parser.add_argument("--inspections", type=int, default=200_000)
    parser.add_argument("--tips", type=int, default=1_000_000)
    parser.add_argument("--hotspots", type=int, default=5_000)
    parser.add_argument("--import-rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    name = make_url(args.pg_url).database or "hotline_bench_establishments"
    await admin(args.pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    url = dsn(args.pg_url, name)
    try:
        started = time.perf_counter()
        await upgrade_database(url, PROVINCE)
        print(f"schema and reference data: {time.perf_counter() - started:.1f} s")
        took = await generate(url, args.establishments, args.inspections, args.tips, args.hotspots)
        print("generated: " + ", ".join(f"{k} {v:.1f} s" for k, v in took.items()))
        engine = create_engine(url)
        try:
            service = EstablishmentService(
                establishment_store(session_factory(engine), lambda: BENCH_ENVELOPE),
                clock=lambda: NOW,
                province_code=PROVINCE,
            )
            province = Scope(province_code=PROVINCE)
            conn = await asyncpg.connect(url)
            communes = [
                r["code"]
                for r in await conn.fetch(
                    "SELECT code FROM areas WHERE province_code = $1 AND level = 'commune' ORDER BY code",
                    PROVINCE,
                )
            ]

            async def baseline() -> None:
                await conn.fetchval("SELECT count(*) FROM establishments WHERE province_code = $1", PROVINCE)

            async def due_list() -> None:
                rows = await service.find(province, ListQuery(due=True, limit=50), actor="bench")
                assert len(rows) == 50, len(rows)

            async def due_search() -> None:
                await service.find(
                    province, ListQuery(due=True, q="co so 4", kind="hotel", limit=50), actor="bench"
                )

            async def due_commune() -> None:
                await service.find(
                    province, ListQuery(commune_code=communes[3], due=True, limit=50), actor="bench"
                )

            async def indicators() -> None:
                found = await service.indicators(Period(date(2026, 1, 1), date(2026, 12, 31)), None)
                assert found[1].denominator > 0

            async def needs() -> None:
                await service.needing_inspection(province, actor="bench")

            print(f"\nreads, median / max of {args.repeat} runs (ms):")
            base = await timed(baseline, args.repeat)
            print(f"  baseline: count(*) of the province's establishments   {base[0]:8.1f} / {base[1]:8.1f}")
            due = await conn.fetchval(
                "SELECT count(*) FROM establishments WHERE status <> 'closed' AND (last_inspected IS NULL "
                "OR last_inspected <= date '2025-12-01')"
            )
            print(f"  ({due} of the {args.establishments} establishments are due)")
            for label, run, target in [
                ("list filtered due, province, first page of 50", due_list, 300.0),
                ("list due + kind + words, province", due_search, 300.0),
                ("list due, one commune", due_commune, 300.0),
                ("indicators, province-year (5 indicators)", indicators, 1000.0),
                ("needs inspection (2+ tips in 90 days), province", needs, None),
            ]:
                median, most = await timed(run, args.repeat)
                verdict = (
                    "" if target is None else (" met" if most < target else f" NOT met (< {target:.0f})")
                )
                print(f"  {label:52} {median:8.1f} / {most:8.1f}{verdict}")
            await conn.close()

            text = import_file(args.import_rows, communes)
            started = time.perf_counter()
            rows = parse(text)
            parsed = time.perf_counter() - started
            added, skipped = await service.import_rows(rows, actor="bench")
            total = time.perf_counter() - started
            started = time.perf_counter()
            again = await service.import_rows(parse(text), actor="bench")
            second = time.perf_counter() - started
            verdict = "met" if total < 30 else "NOT met (< 30 s)"
            print(
                f"\nimport of {args.import_rows} rows: {total:.1f} s (parse {parsed:.1f} s), {added} added, "
                f"{skipped} skipped: {verdict}; the same file again: {second:.1f} s, {again[0]} added"
            )
        finally:
            await engine.dispose()
    finally:
        if not args.keep:
            await admin(args.pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
