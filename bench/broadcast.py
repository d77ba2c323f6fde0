"""Benchmark of the broadcast engine: one campaign to N subscribers through a real
`hotline worker` process, against the fake Bot API enforcing a strict per-second cap.

Why: the plan's targets are reached only if a campaign runs at Telegram's limit without
losing or doubling anyone. The figures: achieved rate as a share of the cap (between the
first and the last delivered message), duplicates, lost recipients, 429s, and the
worker's CPU and peak memory.

    .venv/bin/python bench/broadcast.py --recipients 10000 --cap 30
    .venv/bin/python bench/broadcast.py --recipients 100000 --cap 1000
    .venv/bin/python bench/broadcast.py ... --database-url postgresql://postgres@127.0.0.1/hotline_bench
    .venv/bin/python bench/broadcast.py ... --workers 2 --redis-url redis://127.0.0.1:6379/14

Three processes: the fake Bot API (answers 429 beyond `cap` sends in a second, like
Telegram, and counts deliveries per chat), the worker under test, and this driver. The
database is a fresh SQLite file by default (the embedded set-up), or the PostgreSQL
database given (dropped and created again).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

# Keep bench/ off the import path (bench/telegram.py would shadow the `telegram` package).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import sqlalchemy as sa
from aiohttp import ClientSession, web

from storage.models import OutreachDeliveryRow
from tests.fakebotapi import FakeBotApi
from tests.outreach_rig import SECRET_KEY, TOKEN, add_subscribers, open_outreach, published_pair

FIRST_CHAT = 700_000_000


def run_fake_api(port: int, cap: int) -> None:
    api = FakeBotApi(max_sends_per_second=cap)
    app = api.app()

    async def stats(request: web.Request) -> web.Response:
        ok = [c for c in api.calls if c.method == "sendMessage" and c.status == 200]
        per_chat = Counter(c.chat_id for c in ok)
        times = [c.at for c in ok]
        return web.json_response(
            {
                "delivered": len(ok),
                "distinct": len(per_chat),
                "duplicates": sum(n - 1 for n in per_chat.values() if n > 1),
                "too_many": api.too_many,
                "first": min(times) if times else None,
                "last": max(times) if times else None,
                "max_in_second": max(Counter(int(t) for t in times).values()) if times else 0,
            }
        )

    app.router.add_get("/stats", stats)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def prepare(url: str, recipients: int) -> int:
    from core.chat.identity import ChatKeys
    from storage.maintenance import upgrade_database

    await upgrade_database(url, "79")
    async with open_outreach(url) as (service, sessions):
        await add_subscribers(
            sessions,
            ChatKeys(SECRET_KEY.encode()),
            range(FIRST_CHAT, FIRST_CHAT + recipients),
            language=["vi", "en"],
        )
        vi, _ = await published_pair(service, group="bench.pair")
        campaign = await service.create_campaign(vi.id, "student", by="bench")
    return campaign.id


async def reset_pg(url: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    conn = await asyncpg.connect(
        parsed.set(drivername="postgresql", database="postgres").render_as_string(False)
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await conn.close()


def proc_usage(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system) and peak resident memory (kB) of a live process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    peak = next(
        int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmHWM")
    )
    return cpu, peak


async def get_stats(port: int) -> dict[str, Any]:
    async with ClientSession() as http, http.get(f"http://127.0.0.1:{port}/stats") as response:
        return dict(await response.json())


async def main(args: argparse.Namespace) -> dict[str, Any]:
    api_port = 18_000 + os.getpid() % 1000
    fake = multiprocessing.Process(target=run_fake_api, args=(api_port, args.cap), daemon=True)
    fake.start()
    tmp = tempfile.mkdtemp(prefix="bench-broadcast-")
    url = args.database_url or f"sqlite:///{tmp}/hotline.db"
    if url.startswith("postgres"):
        await reset_pg(url)
    started = time.monotonic()
    campaign_id = await prepare(url, args.recipients)
    print(f"prepared {args.recipients} subscribers in {time.monotonic() - started:.1f} s", file=sys.stderr)
    env = os.environ | {
        "HOTLINE_DATABASE_URL": url,
        "HOTLINE_DATA_DIR": tmp,
        "HOTLINE_PROVINCE": "79",
        "HOTLINE_TELEGRAM_TOKEN": TOKEN,
        "HOTLINE_TELEGRAM_API_URL": f"http://127.0.0.1:{api_port}",
        "HOTLINE_SECRET_KEY": SECRET_KEY,
        "HOTLINE_TELEGRAM_RATE": str(args.cap),
        "HOTLINE_BROADCAST_POLL_SECONDS": "0.2",
        "HOTLINE_LOG_LEVEL": "WARNING",
    }
    env.pop("HOTLINE_REDIS_URL", None)
    if args.redis_url:
        env["HOTLINE_REDIS_URL"] = args.redis_url
    profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
    command = [sys.executable, *profile, "-m", "hotline.cli", "worker"]
    workers = [subprocess.Popen(command, env=env) for _ in range(args.workers)]  # noqa: ASYNC220
    t0 = time.monotonic()
    cpu = peak = 0.0

    def usage() -> tuple[float, float]:
        each = [proc_usage(worker.pid) for worker in workers]
        return sum(c for c, _ in each), sum(p for _, p in each)

    try:
        while True:
            await asyncio.sleep(1)
            stats = await get_stats(api_port)
            cpu, peak = usage()
            if stats["distinct"] >= args.recipients or time.monotonic() - t0 > args.timeout:
                break
            print(f"  {stats['distinct']} delivered, {stats['too_many']} × 429", file=sys.stderr)
        await asyncio.sleep(1.5)  # any straggler (a duplicate would show here)
        stats = await get_stats(api_port)
        cpu, peak = usage()
        wall = time.monotonic() - t0
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        fake.terminate()
    async with open_outreach(url) as (service, sessions):
        progress = await service.progress(campaign_id)
        async with sessions() as session:
            by_worker = await session.execute(
                sa.select(OutreachDeliveryRow.worker, sa.func.count())
                .where(OutreachDeliveryRow.campaign_id == campaign_id)
                .group_by(OutreachDeliveryRow.worker)
            )
            sent_by_worker = sorted(int(n) for _, n in by_worker)
    span = (stats["last"] - stats["first"]) if stats["delivered"] > 1 else 0.0
    rate = (stats["delivered"] - 1) / span if span else 0.0
    return {
        "recipients": args.recipients,
        "cap": args.cap,
        "database": "postgresql" if url.startswith("postgres") else "sqlite",
        "delivered": stats["distinct"],
        "duplicates": stats["duplicates"],
        "lost": args.recipients - stats["distinct"],
        "too_many_429": stats["too_many"],
        "max_in_one_second": stats["max_in_second"],
        "achieved_rate": round(rate, 2),
        "share_of_cap": round(rate / args.cap, 4),
        "workers": args.workers,
        "deliveries_by_worker": sent_by_worker,
        "worker_cpu_seconds": round(cpu, 1),
        "worker_cpu_share": round(cpu / wall, 3),
        "worker_peak_rss_mb": round(peak / 1024, 1),
        "campaign": progress.to_dict()["counts"],
        "campaign_state": progress.campaign.state.value,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--cap", type=int, default=30)
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes sharing the campaign (more than one needs --redis-url: they share the pace)",
    )
    parser.add_argument("--profile", help="write the worker's cProfile statistics to this file")
    arguments = parser.parse_args()
    if arguments.workers > 1 and not arguments.redis_url:
        parser.error("--workers above 1 needs --redis-url (the shared send budget)")
    print(json.dumps(asyncio.run(main(arguments)), indent=2))
