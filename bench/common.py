"""The harness the HTTP benchmarks share: a load run (wrk, or an aiohttp client) and its
latency percentiles, fresh databases, ports and readiness (bench/intake.py, bench/learn.py),
and the chat webhooks' feeding of conversations in order (bench/telegram.py, bench/zalo.py).

A benchmark removes bench/ from `sys.path` (bench/telegram.py would shadow the `telegram`
package) and puts the repository root there before importing `bench.common`.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from sqlalchemy.engine import make_url

# ---- a load run -------------------------------------------------------------------------


@dataclass
class Load:
    """What one load run measured: answered requests, errors, and latency percentiles."""

    ok: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.ok / self.seconds


def percentile(latencies: list[float], q: float) -> float:
    """The q-quantile of latencies given in seconds, in milliseconds."""
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


async def client_load(
    url: str,
    connections: int,
    duration: float,
    warmup: float,
    *,
    body: bytes | None = None,
    ok_status: int = 200,
) -> Load:
    """The aiohttp client: `connections` workers, each sending (GET, or POST of a JSON `body`)
    as soon as it has an answer; `warmup` seconds first, then `duration` measured."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    latencies: list[float] = []
    counts = {"ok": 0, "err": 0}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as session:
        start = time.perf_counter()
        measure_from, stop_at = start + warmup, start + warmup + duration

        async def worker() -> None:
            while (now := time.perf_counter()) < stop_at:
                method = "GET" if body is None else "POST"
                async with session.request(method, url, data=body, headers=headers) as resp:
                    await resp.read()
                    done = time.perf_counter()
                if now >= measure_from:
                    latencies.append(done - now)
                    counts["ok" if resp.status == ok_status else "err"] += 1

        await asyncio.gather(*(worker() for _ in range(connections)))
    return Load(
        counts["ok"], counts["err"], duration, percentile(latencies, 0.5), percentile(latencies, 0.99)
    )


WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %f %f\\n", summary.requests, e.status,
    e.connect + e.read + e.write + e.timeout, summary.duration, latency:percentile(50),
    latency:percentile(99)))
end
"""
WRK_POST = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open(os.getenv("BENCH_BODY"), "rb"); wrk.body = f:read("*a"); f:close()
"""


def wrk_load(
    url: str, connections: int, duration: float, warmup: float, workdir: Path, *, body: bytes | None = None
) -> Load:
    """wrk with one thread (a C client takes little of the cores the server needs); a run
    of `warmup` seconds first, then the measured one. With `body`, a JSON POST."""
    script = workdir / "bench.lua"
    env = dict(os.environ)
    if body is not None:
        (workdir / "body.json").write_bytes(body)
        env["BENCH_BODY"] = str(workdir / "body.json")
    script.write_text((WRK_POST if body is not None else "") + WRK_REPORT, encoding="utf-8")

    def run(seconds: float) -> str:
        cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", str(script), url]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout

    if warmup > 0:
        run(warmup)
    line = next(ln for ln in run(duration).splitlines() if ln.startswith("RESULT "))
    requests, non2xx, socket_errors, micros, p50, p99 = line.split()[1:]
    errors = int(non2xx) + int(socket_errors)
    return Load(int(requests) - errors, errors, int(micros) / 1e6, float(p50) / 1000, float(p99) / 1000)


# ---- servers and databases --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_ready(port: int) -> None:
    """Until the server accepts connections (the app loads its engines before it listens)."""
    for _ in range(1200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError("server did not start")


async def fresh_database(kind: str, pg_url: str | None, workdir: Path, name: str, province: str) -> str:
    """A freshly migrated SQLite file, or PostgreSQL database `name` (dropped first)."""
    from storage.maintenance import upgrade_database

    if kind == "sqlite":
        url = f"sqlite:///{workdir / (name + '.db')}"
    else:
        assert pg_url is not None
        admin = make_url(pg_url).set(drivername="postgresql")
        conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        url = admin.set(database=name).render_as_string(hide_password=False)
    await upgrade_database(url, province)
    return url


async def drop_pg(pg_url: str, name: str) -> None:
    admin = make_url(pg_url).set(drivername="postgresql")
    conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


# ---- chat webhooks ----------------------------------------------------------------------

#: Chats fed at once, each chat's updates strictly in order (as the platforms send them).
CONCURRENT_CHATS = 32


async def feed_chats(
    port: int, path: str, headers: dict[str, str], chats: list[list[dict[str, Any]]], redeliver: float
) -> tuple[float, dict[str, Any], int]:
    """Post every chat's updates in order to `path`, CONCURRENT_CHATS chats at a time, each
    update redelivered with probability `redeliver`; wait until the target's `/bench/stats`
    reports them processed. Returns (seconds, the final stats, redeliveries)."""
    url = f"http://127.0.0.1:{port}"
    rng = random.Random(11)
    queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    for chat in chats:
        queue.put_nowait(chat)
    total = sum(len(c) for c in chats)
    redelivered = 0
    headers = {**headers, "Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENT_CHATS)) as session:

        async def worker() -> None:
            nonlocal redelivered
            while not queue.empty():
                for update in queue.get_nowait():
                    body = json.dumps(update)
                    times = 2 if rng.random() < redeliver else 1
                    redelivered += times - 1
                    for _ in range(times):
                        async with session.post(f"{url}{path}", data=body, headers=headers) as response:
                            assert response.status == 200, response.status

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENT_CHATS)))
        while True:
            async with session.get(f"{url}/bench/stats") as response:
                stats = await response.json()
            if stats["processed"] >= total:
                break
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.5)  # anything handled twice would show up now
        async with session.get(f"{url}/bench/stats") as response:
            final = await response.json()
    return elapsed, final, redelivered


async def wait_stats(port: int) -> None:
    """Until the target answers `/bench/stats`."""
    for _ in range(300):
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port}/bench/stats") as r,
            ):
                if r.status == 200:
                    return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the target did not start")


@contextmanager
def processes(*targets: tuple[Callable[..., None], tuple[Any, ...]]) -> Iterator[None]:
    """Run each (function, args) in a process of its own; terminate them all on the way out."""
    started = [multiprocessing.Process(target=fn, args=args, daemon=True) for fn, args in targets]
    for process in started:
        process.start()
    try:
        yield
    finally:
        for process in reversed(started):
            process.terminate()
        for process in started:
            process.join()


def tips_stored(data_dir: str) -> int:
    """Tips in the embedded database of a target that ran with `data_dir`."""
    with sqlite3.connect(Path(data_dir) / "hotline.db") as db:
        return int(db.execute("SELECT count(*) FROM tips").fetchone()[0])
