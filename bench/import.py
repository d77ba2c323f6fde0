"""Import benchmark: `hotline tips import` of a generated register of N rows (default
100,000) into a fresh database, timed in its parts: reading the CSV, checking every row
(a dry run), and the real import (check + write in one transaction). A second import of
the same file (everything already imported: nothing written) is timed too.

Baseline in the same run: the same tips written by the intake's batch insert
(`SqlTipRepository.add_many`, 1,000 per statement, as new tips with no stages, no history
beyond the first line, no registration rows), into a second fresh database.

    PYTHONPATH=. .venv/bin/python bench/import.py [--rows 100000] [--pg URL] [--sqlite] [--markdown]

`--pg` defaults to postgresql://postgres@127.0.0.1:5432/hotline_bench_import (created and
dropped); `--sqlite` runs the same on the embedded database in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
# The script's own directory first on the path would shadow the standard library's `queue`
# with bench/queue.py: the project's root takes its place.
sys.path[0] = str(ROOT)

from core.envelope import Envelope
from hotline.bootstrap import open_services
from hotline.settings import Settings
from hotline.tips_cli import HEADERS, read_register
from storage.db import create_engine, session_factory
from storage.maintenance import upgrade_database
from storage.repositories import SqlUnitOfWork

PROVINCE = "79"
COMMUNES = ["26743", "26506", "26526", "26542", "26560"]
UNIT = "police:26743"
CHANNELS = ["Điện thoại", "Trực tiếp", "Thư", "Hộp thư tố giác", "Chuyển đến"]
CATEGORIES = ["Cơ sở kinh doanh", "Trên mạng", "Mại dâm đường phố", ""]


def generate(path: Path, n: int, seed: int = 7) -> None:
    """A year of a busy unit's register: most tips verified, classified and processed,
    some still open, a few closed as spam or unfounded; times in Viet Nam's format."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, 7, 0)
    fmt = "%d/%m/%Y %H:%M"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(HEADERS.values()))
        for i in range(n):
            received = start + timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
            channel = rng.choice(CHANNELS)
            row = [f"SO-{i:07d}", received.strftime(fmt), channel,
                   f"Tin báo số {i}: quán karaoke trên đường số {i % 300} có dấu hiệu chứa mại dâm",
                   f"Đường số {i % 300}", rng.choice(COMMUNES), rng.choice(CATEGORIES),
                   "", "", "", "", "", "Báo Tuổi Trẻ" if channel == "Chuyển đến" else ""]  # fmt: skip
            fate = rng.random()
            if fate < 0.05:
                row[10], row[11] = "Tin rác", (received + timedelta(hours=3)).strftime(fmt)
            elif fate < 0.9:
                verified = received + timedelta(hours=rng.uniform(1, 60))
                row[7] = verified.strftime(fmt)
                if fate < 0.85:
                    classified = verified + timedelta(hours=rng.uniform(1, 100))
                    row[8] = classified.strftime(fmt)
                    if fate < 0.8:
                        processed = classified + timedelta(days=rng.uniform(1, 25))
                        row[9], row[10] = processed.strftime(fmt), "Đã xử lý"
            writer.writerow(row)


def plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def fresh_pg(url: str) -> None:
    parsed = make_url(url)
    admin = await asyncpg.connect(plain(parsed.set(database="postgres").render_as_string(False)))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await admin.close()
    await upgrade_database(url, PROVINCE)


async def drop_pg(url: str) -> None:
    parsed = make_url(url)
    admin = await asyncpg.connect(plain(parsed.set(database="postgres").render_as_string(False)))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    finally:
        await admin.close()


async def timed(fn: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = await fn()
    return time.perf_counter() - start, result


async def bench(
    label: str, url: str, prepare: Callable[[str], Awaitable[None]], csv_path: Path, tmp: Path
) -> dict[str, Any]:
    figures: dict[str, Any] = {"database": label}
    start = time.perf_counter()
    rows, problems = read_register(csv_path)
    figures["read"] = time.perf_counter() - start
    assert not problems, problems[:3]
    await prepare(url)
    settings = Settings(
        database_url=url, data_dir=tmp / "var", province=PROVINCE, triage_worker=False, master_key="ab" * 32
    )
    async with open_services(settings) as services:
        figures["dry_run"], plan = await timed(
            lambda: services.imports.run(rows, unit=UNIT, actor="bench", dry_run=True)
        )
        cpu = time.process_time()
        figures["import"], done = await timed(
            lambda: services.imports.run(rows, unit=UNIT, actor="bench", dry_run=False)
        )
        figures["import_cpu"] = time.process_time() - cpu
        assert len(done.created_ids) == len(rows)
        figures["again"], again = await timed(
            lambda: services.imports.run(rows, unit=UNIT, actor="bench", dry_run=False)
        )
        assert len(again.skipped) == len(rows) and not again.created_ids
    # Baseline: the same tips through the intake's batch insert, into a fresh database.
    base_url = (
        url.replace("hotline_bench_import", "hotline_bench_import_base")
        if label == "PostgreSQL"
        else f"sqlite:///{tmp / 'base.db'}"
    )
    await prepare(base_url)
    engine = create_engine(base_url)
    try:
        tips = [item.tip for item in plan.create]

        async def baseline() -> None:
            async with SqlUnitOfWork(session_factory(engine), lambda: Envelope(bytes(32))) as uow:
                for start in range(0, len(tips), 1000):
                    await uow.tips.add_many(tips[start : start + 1000])
                await uow.commit()

        figures["baseline"], _ = await timed(baseline)
    finally:
        await engine.dispose()
    if label == "PostgreSQL":
        await drop_pg(base_url)
        await drop_pg(url)
    return figures


async def sqlite_prepare(url: str) -> None:
    await upgrade_database(url, PROVINCE)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--pg",
        default=os.environ.get(
            "HOTLINE_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/hotline_bench_import"
        ),
    )
    parser.add_argument("--sqlite", action="store_true", help="also run on the embedded SQLite database")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        csv_path = tmp / "register.csv"
        generate(csv_path, args.rows)
        results = [await bench("PostgreSQL", args.pg, fresh_pg, csv_path, tmp)]
        if args.sqlite:
            results.append(
                await bench("SQLite", f"sqlite:///{tmp / 'bench.db'}", sqlite_prepare, csv_path, tmp)
            )
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()
    print(
        f"{args.rows} rows · {platform.processor() or platform.machine()} · {os.cpu_count()} cores · {when}"
        f" · load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
    )
    columns = (
        "read CSV (s)",
        "check, dry run (s)",
        "import (s)",
        "of which Python CPU (s)",
        "read + import rows/s",
        "import again (s)",
        "baseline (s)",
    )
    if args.markdown:
        print("| database | " + " | ".join(columns) + " |")
        print("|---" * (len(columns) + 1) + "|")
    for f in results:
        total = f["read"] + f["import"]
        values = [
            f"{f['read']:.1f}",
            f"{f['dry_run']:.1f}",
            f"{f['import']:.1f}",
            f"{f['import_cpu']:.1f}",
            f"{args.rows / total:,.0f}",
        ]
        values += [f"{f['again']:.1f}", f"{f['baseline']:.1f}"]
        if args.markdown:
            print(f"| {f['database']} | " + " | ".join(values) + " |")
        else:
            print(f["database"] + ": " + ", ".join(f"{c} {v}" for c, v in zip(columns, values, strict=True)))


if __name__ == "__main__":
    asyncio.run(main())
