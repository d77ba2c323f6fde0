"""Benchmark of the Telegram webhook: the real app against a bare python-telegram-bot echo
application, fed the same updates in the same run, both answering through the fake Bot API.

Why: the bot must keep up with a poster campaign's rush without losing or doubling a
report. The ratio to the bare library is what survives a noisy machine.

    .venv/bin/python bench/telegram.py                  # 10,000 updates each
    .venv/bin/python bench/telegram.py --updates 2000   # quick run

Three processes per target: the fake Bot API, the web app under test, and this load
generator posting real Update JSON to `/telegram/webhook` from 32 chats at a time (each
chat's updates in order, as Telegram sends them). The mix: menu taps (`/start`, the
emergency-numbers key, `/help`) and full report flows (7 updates ending in a stored tip);
1% of updates are redelivered. Telegram's own 30 msg/s cap would make any bot look alike,
so both targets send without an outgoing cap here; the limiter is tested separately.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

# This file is named like the `telegram` package: keep its directory off the import path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from aiohttp import web

from bench.common import feed_chats, processes, tips_stored, wait_stats
from tests.fakebotapi import FakeBotApi
from tests.telegram_updates import TelegramUser

SECRET = "bench-webhook-secret"
TOKEN = FakeBotApi().token


# --- the processes ------------------------------------------------------------------------


def run_fake_api(port: int) -> None:
    api = FakeBotApi()
    web.run_app(api.app(), host="127.0.0.1", port=port, print=None, access_log=None)


def run_hotline(port: int, api_port: int, data_dir: str) -> None:
    import logging

    from bot.ratelimit import HotlineRateLimiter
    from handlers.app import create_app
    from handlers.telegram import TELEGRAM_BOT
    from hotline.settings import Settings
    from storage.maintenance import upgrade_database

    logging.basicConfig(level=logging.WARNING)
    settings = Settings(
        data_dir=Path(data_dir),
        province="79",
        telegram_token=TOKEN,
        telegram_api_url=f"http://127.0.0.1:{api_port}",
        telegram_webhook_secret=SECRET,
        secret_key="b" * 40,
        submissions_per_minute=1_000_000,
    )
    asyncio.run(upgrade_database(settings.effective_database_url, "79"))
    from core.services import utc_now

    uncapped = HotlineRateLimiter(overall_per_second=1e6, per_chat_per_second=1e6, per_chat_burst=1e6)
    app = create_app(settings, clock=utc_now, telegram_limiter=uncapped)

    async def stats(request: web.Request) -> web.Response:
        bot = request.app[TELEGRAM_BOT]
        counters = dict(bot.counters)
        return web.json_response(
            {
                "processed": counters.get("handled", 0) + counters.get("errors", 0),
                "duplicates": bot.duplicates,
                **counters,
            }
        )

    app.router.add_get("/bench/stats", stats)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def run_bare(port: int, api_port: int) -> None:
    """PTB's customwebhookbot shape: updater(None), the route queues `Update.de_json`, a
    handler replies once."""
    from telegram import Update
    from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

    processed = {"n": 0}
    root = f"http://127.0.0.1:{api_port}"
    application = (
        Application.builder()
        .token(TOKEN)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .updater(None)
        .build()
    )

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if update.callback_query is not None:
            await update.callback_query.answer()
        if chat is not None:
            await context.bot.send_message(chat.id, "ok")
        processed["n"] += 1

    application.add_handler(MessageHandler(filters.ALL, echo))
    application.add_handler(CallbackQueryHandler(echo))

    async def webhook(request: web.Request) -> web.Response:
        await application.update_queue.put(Update.de_json(await request.json(), application.bot))
        return web.Response()

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"processed": processed["n"], "duplicates": 0})

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        async with application:
            await application.start()
            yield
            await application.stop()

    app = web.Application()
    app.router.add_post("/telegram/webhook", webhook)
    app.router.add_get("/bench/stats", stats)
    app.cleanup_ctx.append(lifecycle)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# --- the load -----------------------------------------------------------------------------


def conversations(total: int, seed: int = 7) -> list[list[dict[str, Any]]]:
    """Chats with their updates in order: 60% of updates are menu taps, 40% report flows."""
    rng = random.Random(seed)
    chats: list[list[dict[str, Any]]] = []
    count, n = 0, 0
    while count < total:
        n += 1
        user = TelegramUser(user_id=800_000_000 + n, username=f"u{n}", first_name=f"U{n}")
        if rng.random() < 0.4 * 3 / 7 / (0.6 + 0.4 * 3 / 7):  # choose so updates split 60/40
            steps = [
                user.command("start", "tip"),
                user.text(f"Quan karaoke so {n} tren duong Le Loi co ban dam"),
                user.text("Bỏ qua"),
                user.tap("files:done"),
                user.tap("danger:no"),
                user.tap("confirm:send"),
                user.tap("notify:no"),
            ]
        else:
            steps = [user.command("start"), user.text("☎️ Số khẩn cấp"), user.command("help")]
        steps = steps[: total - count]
        count += len(steps)
        chats.append(steps)
    return chats


def measure(name: str, updates: int, api_port: int, port: int, data_dir: str) -> dict[str, Any]:
    target = (run_hotline, (port, api_port, data_dir)) if name == "hotline" else (run_bare, (port, api_port))
    chats = conversations(updates)
    with processes((run_fake_api, (api_port,)), target):
        asyncio.run(wait_stats(port))
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        redeliver = 0.01 if name == "hotline" else 0.0
        elapsed, final, redelivered = asyncio.run(
            feed_chats(port, "/telegram/webhook", headers, chats, redeliver)
        )
    flows = sum(1 for c in chats if len(c) == 7)
    result = {"target": name, "updates": updates, "seconds": elapsed, "per_second": updates / elapsed,
              "processed": final["processed"], "redelivered": redelivered, "flows": flows}  # fmt: skip
    if name == "hotline":
        result["tips"] = tips_stored(data_dir)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--updates", type=int, default=10_000)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, ports in (("bare", (18181, 18182)), ("hotline", (18183, 18184))):
            results.append(measure(name, args.updates, ports[0], ports[1], os.path.join(tmp, name)))
    bare, ours = results
    for r in results:
        print(
            f"{r['target']:8s} {r['updates']} updates in {r['seconds']:.2f} s"
            f" = {r['per_second']:.0f} updates/s; "
            f"processed {r['processed']}, redelivered {r['redelivered']}"
            + (f", flows {r['flows']}, tips stored {r['tips']}" if "tips" in r else "")
        )
    ratio = ours["per_second"] / bare["per_second"]
    lost_or_doubled = ours["processed"] != ours["updates"] or ours["tips"] != ours["flows"]
    print(
        f"hotline / bare = {ratio:.0%} (target >= 50%);"
        f" lost or doubled: {'YES' if lost_or_doubled else 'none'}"
    )
    return 1 if lost_or_doubled else 0


if __name__ == "__main__":
    raise SystemExit(main())
