"""Benchmark of web intake: JSON `POST /api/v1/tips` on the real app versus a bare aiohttp
handler that inserts the same row with plain SQLAlchemy, measured in the same run; and the
same bare handler with the tip's text sealed as the app seals it (a data key wrapped by the
master key, AES-GCM, the blind index's tokens: storage/sealed.py), so the cost of
encryption at rest shows on its own (`sealed` against `baseline`), plus its CPU cost per tip.

Why: intake must keep up with a burst (a campaign, a news story) on a 2-core machine. The
ratio to the baseline is what survives a noisy machine; the target is at least
60% of the baseline's requests per second with p99 under 100 ms.

    .venv/bin/python bench/intake.py                                   # SQLite, 10 s each
    .venv/bin/python bench/intake.py --pg-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/intake.py --duration 5 --connections 32
    .venv/bin/python bench/intake.py --no-triage-worker                # triage on the event loop

Each server runs in its own process (one worker, as `hotline serve`; the app's worker has
its triage helper child, hotline/triage_worker.py, unless `--no-triage-worker`; the load
starts once `/metrics` reports the helper ready); the load generator is
`wrk` when it is installed (one thread: a C client takes little of the two cores the servers
need), otherwise an aiohttp client in this process (`--tool` chooses). Either keeps
`--connections` keep-alive connections busy: a short warm-up, then `--duration` seconds.
Both targets get a freshly migrated database and the same tool.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

# bench/ holds telegram.py, which must not shadow the python-telegram-bot package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import aiohttp

from bench.common import Load, client_load, drop_pg, free_port, fresh_database, wait_ready, wrk_load

BODY = {"text": "Quán karaoke trên đường Lê Lợi có dấu hiệu bán dâm, nhiều cô gái trẻ " * 4, "urgent": False}
PAYLOAD = json.dumps(BODY).encode()
PROVINCE = "79"


# ---- the two servers -------------------------------------------------------------------


def serve_app(db_url: str, port: int, data_dir: str, triage_worker: bool, no_index: bool = False) -> None:
    from aiohttp import web

    if no_index:  # the app with its texts sealed but no blind-index tokens: what the index costs
        import storage.sealed

        storage.sealed.blind_index.tokens = lambda *_: []  # type: ignore[assignment]

    from handlers.app import create_app
    from hotline.logs import PrivacyAccessLogger
    from hotline.runtime import freeze_after_startup
    from hotline.settings import Settings

    settings = Settings(
        database_url=db_url,
        data_dir=Path(data_dir),
        province=PROVINCE,
        submissions_per_minute=10**9,  # the benchmark is the flood the limit exists for
        submissions_per_source_per_minute=10**9,  # and it comes from one address
        triage_worker=triage_worker,
        master_key="ab" * 32,  # never the embedded default's key file in ~/.config
    )
    web.run_app(
        freeze_after_startup(create_app(settings)),  # as `hotline serve` does
        host="127.0.0.1",
        port=port,
        access_log_class=PrivacyAccessLogger,
        access_log=None,
        print=None,
    )


def serve_baseline(db_url: str, port: int, sealed: bool = False) -> None:
    """Parse the JSON, insert the same row (same columns, same engine settings), commit;
    `sealed`: the text encrypted and its key and tokens inserted too, as the app does."""
    import secrets

    import sqlalchemy as sa
    from aiohttp import web

    from core.envelope import Envelope
    from storage.db import create_engine
    from storage.models import TipKeyRow, TipRow, TipTokenRow, TipTokenSetRow
    from storage.sealed import TipCipher

    engine = create_engine(db_url)
    insert = sa.insert(TipRow.__table__)
    if sealed:
        insert = insert.returning(TipRow.id)
    envelope = Envelope(bytes.fromhex("ab" * 32))
    cipher = TipCipher(lambda: envelope)

    async def submit(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        now = datetime.now(UTC)
        code = secrets.token_hex(5).upper()
        seal = cipher.seal_tip(code, body["text"], None) if sealed else None
        async with engine.begin() as conn:
            result = await conn.execute(
                insert,
                {
                    "receipt_code": code,
                    "text": seal.text if seal else body["text"].encode(),
                    "channel": "web",
                    "category": None,
                    "urgent": bool(body.get("urgent")),
                    "language": None,
                    "place": None,
                    "occurred_at": None,
                    "province_code": PROVINCE,
                    "commune_code": None,
                    "remote": False,
                    "agency_code": f"police:{PROVINCE}",
                    "stage": "received",
                    "received_at": now,
                    "verified_due_at": now + timedelta(hours=24),
                    "classified_due_at": now + timedelta(days=20),
                    "processed_due_at": now + timedelta(days=20),
                    "next_due_at": now + timedelta(hours=24),
                    "at_risk_at": now + timedelta(hours=18),
                    "extensions": 0,
                    "policy_version": 1,
                    "version": 1,
                    "updated_at": now,
                    "passphrase_hash": None,
                },
            )
            if seal is not None:
                tip_id = result.scalar_one()
                await conn.execute(
                    sa.insert(TipKeyRow.__table__),
                    {"tip_id": tip_id, "key_id": seal.key_id, "wrapped_key": seal.wrapped_key},
                )
                if engine.dialect.name == "postgresql":  # one array a tip, as storage/token_rows.py
                    await conn.execute(
                        sa.insert(TipTokenSetRow.__table__), {"tip_id": tip_id, "tokens": seal.tokens}
                    )
                else:
                    await conn.execute(
                        sa.insert(TipTokenRow.__table__),
                        [{"token": t, "tip_id": tip_id} for t in seal.tokens],
                    )
        return web.json_response({"receipt_code": code}, status=201)

    app = web.Application()
    app.router.add_post("/api/v1/tips", submit)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


# ---- the load generator ----------------------------------------------------------------


@dataclass
class Result:
    target: str
    database: str
    load: Load


async def wait_helper(port: int) -> None:
    """Measure the app in its steady state: the triage helper loads for a second or two
    after the app listens, and until then triage runs on the event loop."""
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
                if "hotline_triage_helper_ready 1.0" in await resp.text():
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError("the triage helper did not get ready")


def database_prefix(pg_url: str | None) -> str:
    """The bench databases' names start with `--pg-url`'s database name (unless it is the
    server's `postgres`), so that several people can share one server."""
    from sqlalchemy.engine import make_url

    database = make_url(pg_url).database if pg_url else None
    return database if database and database != "postgres" else "hotline_bench"


async def run_target(target: str, kind: str, args: argparse.Namespace, workdir: Path) -> Result:
    name = f"{database_prefix(args.pg_url)}_{target}_{os.getpid()}"
    url = await fresh_database(kind, args.pg_url, workdir, name, PROVINCE)
    port = free_port()
    cmd = [
        sys.executable,
        __file__,
        f"--serve-{target}",
        url,
        "--port",
        str(port),
        "--data-dir",
        str(workdir),
        *(["--no-triage-worker"] if args.no_triage_worker else []),
        *(["--no-index"] if target == "app" and args.no_index else []),
    ]
    proc = subprocess.Popen(cmd)  # noqa: ASYNC220 - started once, before the measurement
    try:
        await wait_ready(port)
        if target == "app" and not args.no_triage_worker:
            await wait_helper(port)
        url = f"http://127.0.0.1:{port}/api/v1/tips"
        if args.tool == "wrk":
            measured = await asyncio.to_thread(
                wrk_load, url, args.connections, args.duration, args.warmup, workdir, body=PAYLOAD
            )
        else:
            measured = await client_load(
                url, args.connections, args.duration, args.warmup, body=PAYLOAD, ok_status=201
            )
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if kind == "postgresql":
            await drop_pg(args.pg_url, name)
    return Result(target, kind, measured)


async def main(args: argparse.Namespace) -> int:
    kinds = ["sqlite"] + (["postgresql"] if args.pg_url else [])
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            for target in ("baseline", "sealed", "app"):
                result = await run_target(target, kind, args, Path(tmp))
                results.append(result)
                print(
                    f"{kind:10} {target:8} {result.load.rps:8.0f} req/s  p50 {result.load.p50_ms:6.1f} ms"
                    f"  p99 {result.load.p99_ms:6.1f} ms  errors {result.load.errors}",
                    flush=True,
                )
    print()
    print(
        f"{args.tool}, {args.connections} connections, {args.duration:.0f} s per target"
        f" after {args.warmup:.0f} s warm-up; triage "
        + ("on the app's event loop" if args.no_triage_worker else "in the app's helper process")
    )
    print(
        "| database | baseline req/s | sealed baseline req/s | app req/s | sealed/baseline"
        " | app/baseline | baseline p99 | app p99 | target met |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    ok = True
    for kind in kinds:
        base = next(r.load for r in results if r.database == kind and r.target == "baseline")
        sealed = next(r.load for r in results if r.database == kind and r.target == "sealed")
        app = next(r.load for r in results if r.database == kind and r.target == "app")
        ratio = app.rps / base.rps
        met = ratio >= 0.6 and app.p99_ms < 100 and app.errors == 0
        ok = ok and met
        print(
            f"| {kind} | {base.rps:.0f} | {sealed.rps:.0f} | {app.rps:.0f} | {sealed.rps / base.rps:.0%}"
            f" | {ratio:.0%} | {base.p99_ms:.1f} ms | {app.p99_ms:.1f} ms | {'yes' if met else 'no'} |"
        )
    print()
    print(seal_cost())
    return 0 if ok else 1


def seal_cost(n: int = 5000) -> str:
    """CPU per tip of sealing (data key, wrap, AES-GCM of text, blind-index tokens) and of
    opening (unwrap, decrypt), in this process, on the benchmark's tip text."""
    from core.envelope import Envelope
    from storage.sealed import TipCipher

    envelope = Envelope(bytes.fromhex("ab" * 32))
    cipher = TipCipher(lambda: envelope)
    text = BODY["text"]
    assert isinstance(text, str)
    start = time.perf_counter()
    sealed = [cipher.seal_tip(f"CODE{i}", text, "Phố Huế") for i in range(n)]
    seal_us = (time.perf_counter() - start) / n * 1e6
    start = time.perf_counter()
    for i, s in enumerate(sealed):
        cipher.open_tip(cipher.data_key(f"CODE{i}", s.wrapped_key), f"CODE{i}", s.text, s.place)
    open_us = (time.perf_counter() - start) / n * 1e6
    return (
        f"sealing one tip ({len(text)} characters, {len(sealed[0].tokens)} tokens): {seal_us:.0f} µs CPU;"
        f" opening it: {open_us:.0f} µs"
    )


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--pg-url",
        help="PostgreSQL server (admin URL); bench databases named after its database are created",
    )
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--tool",
        choices=["wrk", "aiohttp"],
        default="wrk" if shutil.which("wrk") else "aiohttp",
        help="load generator (default: wrk when installed)",
    )
    parser.add_argument(
        "--no-triage-worker",
        action="store_true",
        help="the app reads tips on its event loop (HOTLINE_TRIAGE_WORKER=false), no helper process",
    )
    parser.add_argument(
        "--no-index", action="store_true", help="the app writes no blind-index tokens (what the index costs)"
    )
    parser.add_argument("--serve-app", metavar="DB_URL", help=argparse.SUPPRESS)
    parser.add_argument("--serve-baseline", metavar="DB_URL", help=argparse.SUPPRESS)
    parser.add_argument("--serve-sealed", metavar="DB_URL", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse()
    if arguments.serve_app:
        serve_app(
            arguments.serve_app,
            arguments.port,
            arguments.data_dir,
            not arguments.no_triage_worker,
            no_index=arguments.no_index,
        )
    elif arguments.serve_baseline:
        serve_baseline(arguments.serve_baseline, arguments.port)
    elif arguments.serve_sealed:
        serve_baseline(arguments.serve_sealed, arguments.port, sealed=True)
    else:
        raise SystemExit(asyncio.run(main(arguments)))
