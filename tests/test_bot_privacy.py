"""The privacy check: after a realistic Telegram session, the Telegram user
id, username, first name and phone number appear nowhere — not in any table, not in the
database files, not in the data directory, not in Redis, not in the logs."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from redis.asyncio import Redis

from hotline.settings import Settings
from storage.db import create_engine
from tests.conftest import FakeClock
from tests.telegram_harness import jpeg_with_gps, telegram_rig
from tests.telegram_updates import TelegramUser

# Flushes the run's Redis database: `make test` runs it with the other Redis tests, alone.
pytestmark = pytest.mark.redis


async def _database_text(settings: Settings) -> str:
    engine = create_engine(settings.effective_database_url)
    chunks: list[str] = []
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
            for name in names:
                rows = await conn.execute(sa.text(f'SELECT * FROM "{name}"'))
                chunks.extend(repr(tuple(row)) for row in rows)
    finally:
        await engine.dispose()
    return "\n".join(chunks)


def _files_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


async def _redis_text(url: str) -> str:
    redis = Redis.from_url(url)
    try:
        parts = []
        async for key in redis.scan_iter("*"):
            parts.append(repr(key))
            if await redis.type(key) == b"string":
                parts.append(repr(await redis.get(key)))
        return "\n".join(parts)
    finally:
        await redis.aclose()


async def test_no_telegram_identity_is_stored_or_logged(
    settings: Settings, backend: str, clock: FakeClock, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    redis_url = os.environ.get("HOTLINE_TEST_REDIS_URL") if backend == "postgresql" else None
    if redis_url:
        redis = Redis.from_url(redis_url)
        await redis.flushdb()
        await redis.aclose()
        settings = settings.model_copy(update={"redis_url": redis_url})
    caplog.set_level(logging.DEBUG)
    user = TelegramUser(
        user_id=731_904_226, username="thao_vy_hcm07", first_name="Trần Thảo Vy", phone="+84987001122"
    )
    photo = jpeg_with_gps()
    async with telegram_rig(settings, clock) as rig:
        rig.api.add_file("ph-7", photo)
        await rig.send(
            user.command("start"),
            user.contact(),
            user.command("start", "sub-student-vi"),
            user.text("📝 Báo tin"),
            user.text("Co nguoi ep ban em lam tiep vien o quan bia gan cho Ben Thanh"),
            user.text("phuong ben thanh"),
            user.tap("place:26743"),
            user.photo("ph-7", len(photo)),
            user.tap("files:done"),
            user.tap("danger:yes"),
            user.tap("confirm:send"),
            user.tap("notify:yes"),
            user.text("cho em hoi muon nghi viec thi lam sao"),
            user.tap("intent:ask"),
        )
        assert any("Mã tiếp nhận" in t for t in rig.api.texts(user.chat_id))
        assert rig.bot.counters.get("errors", 0) == 0
        assert rig.api.calls_to("download")  # the photo was really fetched and stored

    identifiers = [str(user.user_id), user.username, user.first_name, user.phone, user.phone.lstrip("+")]
    database = await _database_text(rig.settings)
    assert "telegram" in database  # the scan does see the stored tips
    stored_files = _files_bytes(Path(rig.settings.data_dir))
    if backend == "sqlite":
        stored_files += _files_bytes(
            Path(rig.settings.effective_database_url.removeprefix("sqlite:///")).parent
        )
    logs = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    redis_dump = await _redis_text(redis_url) if redis_url else ""
    if redis_url:
        assert "hotline:chat:" in redis_dump  # the scan does see the conversation state
    for identifier in identifiers:
        assert identifier not in database, identifier
        assert identifier.encode() not in stored_files, identifier
        assert identifier not in logs, identifier
        assert identifier not in redis_dump, identifier
