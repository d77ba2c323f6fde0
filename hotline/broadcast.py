"""Wiring of the broadcast worker: database, bucket (Redis or in-process), the Telegram
sender and the engine; `hotline worker` runs it, `hotline serve` starts it alongside."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from typing import Any

from core.categories import Channel
from core.outreach.bucket import MemoryBucket, shape_for
from core.outreach.engine import BroadcastEngine, config_for
from core.outreach.ports import Bucket
from core.services import utc_now
from hotline.bootstrap import open_delivery, open_redis
from hotline.channels import configured_channels
from hotline.logs import quiet_libraries
from hotline.settings import Settings
from storage.redis_bucket import RedisBucket

log = logging.getLogger(__name__)


def _skip_sniffio_lookups() -> None:
    """httpcore tries `import sniffio` on every request and falls back to asyncio when it is
    missing; a failed import searches the whole path each time (14% of the worker's CPU in
    bench/broadcast.py). Recording the absence once makes the failure instant."""
    if importlib.util.find_spec("sniffio") is None:
        sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]


def worker_name() -> str:
    """Host, process and a random tail: unique even when a pid is reused after a crash."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(3)}"


def bot_name(token: str) -> str:
    """The bot's numeric id (the part of the token before ':'), never the secret part."""
    return token.split(":", 1)[0]


def channel_rate(settings: Settings, channel: Channel) -> float:
    return settings.zalo_rate if channel is Channel.ZALO else settings.telegram_rate


@asynccontextmanager
async def open_bucket(settings: Settings, channel: Channel = Channel.TELEGRAM) -> AsyncIterator[Bucket]:
    """One bucket per bot, shared by every worker through Redis: a 429 pauses them all."""
    shape = shape_for(channel_rate(settings, channel))
    if channel is Channel.ZALO:
        name = f"zalo:{bot_name(settings.zalo_token or 'bot')}"
    else:
        name = bot_name(settings.telegram_token or "bot")
    async with open_redis(settings) as redis:
        if redis is None:
            yield MemoryBucket(shape)
        else:
            yield RedisBucket(redis, shape, name=name)


@asynccontextmanager
async def open_zalo_broadcast(
    settings: Settings, *, clock: Callable[[], datetime] = utc_now, worker: str | None = None
) -> AsyncIterator[BroadcastEngine]:
    """The broadcast engine for Zalo subscribers: its own rate, bucket and error handling."""
    import aiohttp

    from channels.zalo.sender import ZaloSender
    from hotline.zalo import open_zalo_api

    if not settings.zalo_token:
        raise ValueError("HOTLINE_ZALO_TOKEN is not set: there is no Zalo bot to broadcast with")
    config = config_for(settings.zalo_rate, settings.broadcast_lease_seconds, settings.broadcast_poll_seconds)
    timeout = max(1.0, min(20.0, settings.broadcast_lease_seconds / 3))
    async with AsyncExitStack() as stack:
        delivery = await stack.enter_async_context(open_delivery(settings, Channel.ZALO))
        bucket = await stack.enter_async_context(open_bucket(settings, Channel.ZALO))
        api = await stack.enter_async_context(
            open_zalo_api(
                settings,
                connector=aiohttp.TCPConnector(limit=config.max_inflight + 2),
                timeout=aiohttp.ClientTimeout(total=timeout, connect=min(5.0, timeout)),
            )
        )
        yield BroadcastEngine(
            delivery.queue,
            delivery.content,
            ZaloSender(api),
            bucket,
            delivery.decrypt,
            worker=worker or worker_name(),
            config=config,
            clock=clock,
        )


@asynccontextmanager
async def open_broadcast(
    settings: Settings, *, clock: Callable[[], datetime] = utc_now, worker: str | None = None
) -> AsyncIterator[BroadcastEngine]:
    """Everything the engine needs, opened; closed on the way out."""
    from bot.broadcast import TelegramSender
    from bot.runtime import bot_api_request, bot_client

    if not settings.telegram_token:
        raise ValueError("HOTLINE_TELEGRAM_TOKEN is not set: there is no bot to broadcast with")
    quiet_libraries()
    _skip_sniffio_lookups()
    config = config_for(
        settings.telegram_rate, settings.broadcast_lease_seconds, settings.broadcast_poll_seconds
    )
    # A call must end well inside the lease, or another worker could judge it abandoned.
    timeout = max(1.0, min(20.0, settings.broadcast_lease_seconds / 3))
    request = bot_api_request(
        connection_pool_size=config.max_inflight + 2,
        read_timeout=timeout,
        write_timeout=timeout,
        connect_timeout=min(5.0, timeout),
        pool_timeout=min(5.0, timeout),
        media_write_timeout=timeout,
    )
    async with AsyncExitStack() as stack:
        delivery = await stack.enter_async_context(open_delivery(settings, Channel.TELEGRAM))
        bucket = await stack.enter_async_context(open_bucket(settings))
        bot = bot_client(settings.telegram_token, settings.telegram_api_url, request)
        await bot.initialize()
        stack.push_async_callback(bot.shutdown)
        yield BroadcastEngine(
            delivery.queue,
            delivery.content,
            TelegramSender(bot),
            bucket,
            delivery.decrypt,
            worker=worker or worker_name(),
            config=config,
            clock=clock,
        )


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """One engine per configured chat channel, running side by side."""
    async with AsyncExitStack() as stack:
        engines: list[BroadcastEngine] = []
        for channel in configured_channels(settings):
            opener = open_zalo_broadcast if channel is Channel.ZALO else open_broadcast
            engines.append(await stack.enter_async_context(opener(settings)))
        await asyncio.gather(*(engine.run(stop) for engine in engines))


#: How often `hotline worker --retention-daily` applies the retention rules.
RETENTION_EVERY_SECONDS = 24 * 3600


async def run_retention_daily(settings: Settings, stop: asyncio.Event) -> None:
    """Apply the retention rules now and every day until stopped; a failed run is logged
    and tried again the next day (the run is idempotent and safe beside cron's)."""
    from hotline.retention_cli import apply_retention

    while not stop.is_set():
        try:
            report = await apply_retention(settings, utc_now())
            log.info("retention run: %d tips' data forgotten", report.total)
        except Exception:
            log.exception("retention run failed; trying again in a day")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=RETENTION_EVERY_SECONDS)


def worker_main(settings: Settings, *, retention_daily: bool = False) -> int:
    """`hotline worker`: deliver campaigns until SIGTERM or SIGINT, then finish the calls
    in flight (never leaving rows in `sending` on a clean stop); with `retention_daily`,
    also apply the retention rules once a day."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if retention_daily:
            await asyncio.gather(run_worker(settings, stop), run_retention_daily(settings, stop))
        else:
            await run_worker(settings, stop)

    asyncio.run(main())
    return 0


def broadcast_ctx(settings: Settings) -> Callable[[Any], AsyncIterator[None]]:
    """An aiohttp cleanup context running the worker inside `hotline serve` (when a bot
    token is configured): started with the app, stopped gracefully before it closes."""

    async def ctx(app: Any) -> AsyncIterator[None]:
        if not configured_channels(settings):
            yield
            return
        stop = asyncio.Event()
        task = asyncio.create_task(run_worker(settings, stop))
        yield
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=30)
        except TimeoutError:
            log.warning("broadcast worker did not stop in time")

    return ctx
