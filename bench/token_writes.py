"""What the blind index costs intake's database statement on PostgreSQL, in isolation: the
intake writer's one statement (storage/new_tips.py) for batches of sealed tips, in three
forms measured alternately in one database: tokens as one GIN-indexed array a tip
(`tip_token_sets`, what intake writes), as one row a token (`tip_tokens`, before
migration 0022), and no tokens at all; plus the same without the wrapped key's row.

    .venv/bin/python bench/token_writes.py --pg-url postgresql://postgres@127.0.0.1:5432/hotline_tw
    .venv/bin/python bench/token_writes.py --prefill 100000 --batches 300 --batch 25

The database named by `--pg-url` is created, migrated and dropped. Each batch is one
transaction (the statement and COMMIT), as the writer's; the figure is per tip.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import asyncpg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.common import drop_pg, fresh_database
from core.envelope import Envelope
from storage.dashboard_query import week_totals
from storage.db import create_engine
from storage.new_tips import STATEMENT, unnest_params
from storage.sealed import TipCipher

PROVINCE = "79"
TEXT = "Quán karaoke trên đường Lê Lợi có dấu hiệu bán dâm, nhiều cô gái trẻ " * 4
WORDS = [f"từ{n}" for n in range(50_000)]  # a vocabulary for varied tokens (Zipf-like draw)

_NEW = STATEMENT.text
_ROWS = (
    " tokens AS (INSERT INTO tip_tokens (token, tip_id) SELECT x.token, new.id"
    " FROM new JOIN unnest(CAST(:x_receipt_code AS VARCHAR[]), CAST(:x_token AS BIGINT[]))"
    " AS x(receipt_code, token) ON x.receipt_code = new.receipt_code)"
)
_TOKENS_CTE = _NEW[_NEW.index(" tokens AS (") : _NEW.index(" SELECT id, receipt_code FROM new")]
_KEYS_CTE = _NEW[_NEW.index(" keys AS (") : _NEW.index(" tokens AS (")]
FORMS = {
    "array (tip_token_sets)": _NEW,
    "rows (tip_tokens)": _NEW.replace(_TOKENS_CTE, _ROWS),
    "no tokens": _NEW.replace("," + _TOKENS_CTE, ""),
    "array, no key row": _NEW.replace(_KEYS_CTE, ""),
}


def batch(cipher: TipCipher, size: int, rng_words: list[str]) -> dict[str, Any]:
    """The statement's parameters for `size` new sealed tips (as `SqlTipRepository.add_many`)."""
    now = datetime.now(UTC)
    tips, history, keys, tokens = [], [], [], []
    for k in range(size):
        code = secrets.token_hex(5).upper()
        text = TEXT + " ".join(rng_words[(k * 7 + i) % len(rng_words)] for i in range(3))
        seal = cipher.seal_tip(code, text, None)
        tips.append(
            {
                "receipt_code": code, "text": seal.text, "channel": "web", "category": None,
                "urgent": False, "language": "vi", "place": None, "occurred_at": None,
                "province_code": PROVINCE, "commune_code": None, "remote": False,
                "agency_code": f"police:{PROVINCE}", "stage": "received", "received_at": now,
                "verified_due_at": now + timedelta(hours=24), "classified_due_at": now + timedelta(days=20),
                "processed_due_at": now + timedelta(days=20), "next_due_at": now + timedelta(hours=24),
                "at_risk_at": now + timedelta(hours=18), "extensions": 0, "policy_version": 1,
                "version": 1, "updated_at": now, "passphrase_hash": None, "triage": None,
                "triage_sealed": None,
            }
        )  # fmt: skip
        history.append(
            {"receipt_code": code, "action": "create", "from_stage": None, "to_stage": "received",
             "actor": "reporter", "at": now, "reason": "", "to_agency": None, "details": {}}
        )  # fmt: skip
        keys.append({"receipt_code": code, "key_id": seal.key_id, "wrapped_key": seal.wrapped_key})
        tokens += [{"receipt_code": code, "token": t} for t in seal.tokens]
    weeks = week_totals([(now, PROVINCE, f"police:{PROVINCE}", None, None, len(tips))])
    return unnest_params(tips, history, weeks, keys, tokens)


async def main(args: argparse.Namespace) -> None:
    import random

    url = make_url(args.pg_url)
    name = url.database
    assert name
    admin = url.set(database="postgres").render_as_string(hide_password=False)
    db_url = await fresh_database("postgresql", admin, Path("."), name, PROVINCE)
    try:
        engine = create_engine(db_url)
        envelope = Envelope(bytes.fromhex("ab" * 32))
        cipher = TipCipher(lambda: envelope)
        rng = random.Random(1)
        vocabulary = [WORDS[min(int(rng.paretovariate(0.8)), len(WORDS) - 1)] for _ in range(20_000)]
        statements = {form: sa.text(sql) for form, sql in FORMS.items()}

        async def write(form: str, params: dict[str, Any]) -> float:
            start = time.perf_counter()
            async with engine.begin() as conn:
                await conn.execute(statements[form], params)
            return time.perf_counter() - start

        prefill = [batch(cipher, 500, vocabulary[i * 37 % 19_000 :]) for i in range(args.prefill // 500)]
        for k, params in enumerate(prefill):  # both tables hold tips before the timing
            await write("array (tip_token_sets)" if k % 2 else "rows (tip_tokens)", params)
        vacuum = await asyncpg.connect(db_url)
        try:
            await vacuum.execute("VACUUM ANALYZE")
        finally:
            await vacuum.close()
        times: dict[str, list[float]] = {form: [] for form in FORMS}
        for k in range(args.batches):
            params = batch(cipher, args.batch, vocabulary[k * 13 % 19_000 :])
            for n, form in enumerate(FORMS) if k % 2 else reversed(list(enumerate(FORMS))):
                fresh = {**params, "t_receipt_code": [f"{c[:-1]}{n}" for c in params["t_receipt_code"]]}
                fresh["h_receipt_code"] = fresh["k_receipt_code"] = fresh["t_receipt_code"]
                codes = dict(zip(params["t_receipt_code"], fresh["t_receipt_code"], strict=True))
                fresh["x_receipt_code"] = [codes[c] for c in params["x_receipt_code"]]
                times[form].append(await write(form, fresh))
        await engine.dispose()
    finally:
        await drop_pg(admin, name)
    print(f"{args.prefill:,} tips before; {args.batches} batches of {args.batch} tips per form, alternated")
    print("| form | mean µs a tip | median ms a batch | p95 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|")
    for form, runs in times.items():
        ordered = sorted(runs)
        p95, p99 = (ordered[int(q * (len(runs) - 1))] * 1000 for q in (0.95, 0.99))
        mean_us = statistics.mean(runs) / args.batch * 1e6
        print(
            f"| {form} | {mean_us:.0f} | {statistics.median(runs) * 1000:.1f} | {p95:.1f} | {p99:.1f}"
            f" | {ordered[-1] * 1000:.1f} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/hotline_bench_token_writes")
    parser.add_argument("--prefill", type=int, default=50_000)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch", type=int, default=25)
    asyncio.run(main(parser.parse_args()))
