"""Benchmark of the public library: an audience page and its Atom feed with 1,000 published
items, served by one worker, against `/healthz` (one `SELECT 1`) in the same run and the
same server process.

Why: the open-web pages are what a school's feed reader, a search engine or a campaign's
shared link will hammer; they must stay cheap. The target is at least 50% of `/healthz`'s
requests per second with p99 under 50 ms.

    .venv/bin/python bench/learn.py                                    # SQLite, 10 s each
    .venv/bin/python bench/learn.py --pg-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/learn.py --duration 6 --rounds 3 --connections 16

The server is the real app (`create_app`, one worker, as `hotline serve`) in its own
process; 1,000 published items for students (and the starter library) are written to a
freshly migrated database first. The load generator is `wrk` with one thread when it is
installed, else an aiohttp client in this process. Each path gets `--duration` seconds in
all, split into `--rounds` interleaved rounds, each after a short warm-up. Pages are
cached per library version, so the first request after a change renders and the rest
reuse it: "cold" also times every page of the audience once, each rendered from the
database (34 pages of 30 items with the starter messages).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# bench/ holds telegram.py, which must not shadow the python-telegram-bot package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import aiohttp
import sqlalchemy as sa

from bench.common import (
    Load,
    client_load,
    drop_pg,
    free_port,
    fresh_database,
    percentile,
    wait_ready,
    wrk_load,
)

PROVINCE = "79"
ITEMS = 1000
PATHS = ("/healthz", "/learn/student", "/learn/student.atom?lang=vi")
TEXT = (
    "<b>Việc nhẹ lương cao ở nước ngoài?</b>\nKẻ xấu thường hứa việc nhẹ, lương cao, lo hết giấy tờ "
    "rồi giữ hộ chiếu và bắt trả nợ. Trước khi đi, hãy hỏi gia đình và gọi <b>111</b> để kiểm tra.\n"
    "• Không đưa hộ chiếu cho ai giữ.\n• Ghi lại số điện thoại của người môi giới."
)


def serve(db_url: str, port: int, data_dir: str, stamp_seconds: float) -> None:
    from aiohttp import web

    from handlers.app import create_app
    from hotline.logs import PrivacyAccessLogger
    from hotline.runtime import freeze_after_startup
    from hotline.settings import Settings

    settings = Settings(
        database_url=db_url,
        data_dir=Path(data_dir),
        province=PROVINCE,
        triage_worker=False,
        learn_stamp_seconds=stamp_seconds,
    )
    web.run_app(
        freeze_after_startup(create_app(settings)),
        host="127.0.0.1",
        port=port,
        access_log_class=PrivacyAccessLogger,
        access_log=None,
        print=None,
    )


async def seed(url: str, count: int) -> None:
    """`count` published student items in Vietnamese, an hour apart, as the library's
    own rows (the same columns the review workflow writes)."""
    from storage.db import create_engine
    from storage.models import OutreachItemRow

    engine = create_engine(url)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    for n in range(count):
        at = start + timedelta(hours=n)
        rows.append(
            {
                "group_key": f"bench-{n}", "audience": "student", "language": "vi",
                "title": f"Bài số {n}: việc nhẹ lương cao?", "text": TEXT, "image": None, "link": None,
                "state": "published", "created_at": at, "created_by": "officer:bench",
                "reviewed_at": at, "reviewed_by": "officer:bench", "published_at": at,
                "published_by": "officer:bench",
            }
        )  # fmt: skip
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.insert(OutreachItemRow), rows)
    finally:
        await engine.dispose()


async def cold_pages(port: int, count: int) -> list[float]:
    """Every page of the audience once: each is rendered from the database (a cache miss)."""
    latencies = []
    async with aiohttp.ClientSession() as session:
        for n in range(1, count // 30 + 10):
            started = time.perf_counter()
            async with session.get(f"http://127.0.0.1:{port}/learn/student?page={n}") as resp:
                await resp.read()
            if resp.status == 404 and n > count // 30:
                break  # past the last page (the starter items add a page or so)
            assert resp.status == 200, (n, resp.status)
            latencies.append(time.perf_counter() - started)
    return latencies


async def run_kind(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, Load | list[float]]:
    name = f"hotline_bench_learn_{os.getpid()}"
    url = await fresh_database(kind, args.pg_url, workdir, name, PROVINCE)
    await seed(url, args.items)
    port = free_port()
    cmd = [sys.executable, __file__, "--serve", url, "--port", str(port), "--data-dir", str(workdir)]
    cmd += ["--stamp-seconds", str(args.stamp_seconds)]
    proc = subprocess.Popen(cmd)  # noqa: ASYNC220 - started once, before the measurement
    results: dict[str, Load | list[float]] = {}
    try:
        await wait_ready(port)
        results["cold"] = await cold_pages(port, args.items)
        # Rounds, each path in turn: a shared machine's load varies from second to second,
        # and interleaving spreads it over all paths alike.
        rounds: dict[str, list[Load]] = {path: [] for path in PATHS}
        for _ in range(args.rounds):
            for path in PATHS:
                target = f"http://127.0.0.1:{port}{path}"
                seconds = args.duration / args.rounds
                if args.tool == "wrk":
                    measured = await asyncio.to_thread(
                        wrk_load, target, args.connections, seconds, args.warmup, workdir
                    )
                else:
                    measured = await client_load(target, args.connections, seconds, args.warmup)
                rounds[path].append(measured)
        for path, loads in rounds.items():
            total = Load(
                sum(x.ok for x in loads),
                sum(x.errors for x in loads),
                sum(x.seconds for x in loads),
                statistics.median(x.p50_ms for x in loads),
                max(x.p99_ms for x in loads),  # the worst round's p99: conservative
            )
            results[path] = total
            print(
                f"{kind:10} {path:30} {total.rps:8.0f} req/s  p50 {total.p50_ms:6.1f} ms"
                f"  p99 {total.p99_ms:6.1f} ms  errors {total.errors}"
                f"  (rounds: {', '.join(f'{x.rps:.0f}' for x in loads)} req/s)",
                flush=True,
            )
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if kind == "postgresql":
            await drop_pg(args.pg_url, name)
    return results


async def main(args: argparse.Namespace) -> int:
    kinds = ["sqlite"] + (["postgresql"] if args.pg_url else [])
    ok = True
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            results = await run_kind(kind, args, Path(tmp))
            health = results["/healthz"]
            assert isinstance(health, Load)
            cold = results["cold"]
            assert isinstance(cold, list)
            for path in PATHS[1:]:
                load = results[path]
                assert isinstance(load, Load)
                ratio = load.rps / health.rps
                met = ratio >= 0.5 and load.p99_ms < 50 and load.errors == 0
                ok = ok and met
                table.append(
                    f"| {kind} | {path} | {health.rps:.0f} | {load.rps:.0f} | {ratio:.0%}"
                    f" | {health.p99_ms:.1f} ms | {load.p99_ms:.1f} ms | {'yes' if met else 'no'} |"
                )
            table.append(
                f"| {kind} | cold: {len(cold)} pages rendered from the database | | | | |"
                f" p50 {percentile(cold, 0.5):.1f} ms, max {max(cold) * 1000:.1f} ms | |"
            )
    print()
    print(f"{args.tool}, {args.connections} connections, {args.duration:.0f} s per path", end=" ")
    print(f"after {args.warmup:.0f} s warm-up; {args.items} published student items;", end=" ")
    print(f"library version asked of the database at most every {args.stamp_seconds:g} s")
    print("| database | path | /healthz req/s | path req/s | ratio | /healthz p99 | path p99 | target met |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(table))
    return 0 if ok else 1


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pg-url", help="PostgreSQL server (admin URL); a bench database is created")
    parser.add_argument("--items", type=int, default=ITEMS)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before each measured round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per path")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--tool",
        choices=["wrk", "aiohttp"],
        default="wrk" if shutil.which("wrk") else "aiohttp",
        help="load generator (default: wrk when installed)",
    )
    parser.add_argument(
        "--stamp-seconds",
        type=float,
        default=2.0,
        help="HOTLINE_LEARN_STAMP_SECONDS of the server (default 2, as shipped; 0: a query per request)",
    )
    parser.add_argument("--serve", metavar="DB_URL", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse()
    if arguments.serve:
        serve(arguments.serve, arguments.port, arguments.data_dir, arguments.stamp_seconds)
    else:
        sys.exit(asyncio.run(main(arguments)))
