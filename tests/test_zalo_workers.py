"""Zalo with several workers and the privacy rules: two app processes sharing Redis take
turns on one conversation; the ids and names the platform sends are found nowhere."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer

from handlers.zalo import SECRET_HEADER, ZALO_BOT
from hotline.settings import Settings
from storage.db import create_engine
from tests.conftest import FakeClock
from tests.fakezalo import FakeZalo, ZaloUser
from tests.telegram_harness import jpeg_with_gps
from tests.zalo_harness import WEBHOOK_SECRET, zalo_rig, zalo_settings


async def test_two_workers_sharing_redis_take_turns_on_one_conversation(
    settings: Settings, clock: FakeClock, redis_url: str
) -> None:
    from handlers.app import create_app

    fake, user = FakeZalo(), ZaloUser()
    async with AsyncExitStack() as stack:
        api = TestServer(fake.app())
        await api.start_server()
        stack.push_async_callback(api.close)
        configured = zalo_settings(settings, str(api.make_url("")).rstrip("/"), redis_url=redis_url)
        workers = []
        for _ in range(2):
            client: TestClient = TestClient(TestServer(create_app(configured, clock=clock)))  # type: ignore[type-arg]
            await client.start_server()
            stack.push_async_callback(client.close)
            workers.append(client)

        script = ["bao tin", "Co nguoi ep hoc sinh ban dam o quan 1", "bo qua", "xong", "khong", "gui", "2"]
        events = [user.text(line) for line in script]
        for index, event in enumerate(events):
            worker = workers[index % 2]
            response = await worker.post("/zalo/webhook", json=event, headers={SECRET_HEADER: WEBHOOK_SECRET})
            assert response.status == 200
            await worker.app[ZALO_BOT].drain()
        # The same event redelivered to the other worker is dropped there.
        again = await workers[1].post(
            "/zalo/webhook", json=events[0], headers={SECRET_HEADER: WEBHOOK_SECRET}
        )
        assert again.status == 200
        await workers[1].app[ZALO_BOT].drain()
        assert workers[1].app[ZALO_BOT].duplicates == 1

    from hotline.masterkey import MasterKeySource
    from tests.builders import stored_tips

    opened = await stored_tips(configured.effective_database_url, MasterKeySource(configured))
    tips = [(t.text, t.channel.value) for t in opened]
    assert tips == [("Co nguoi ep hoc sinh ban dam o quan 1", "zalo")]
    texts = fake.texts(user.chat_id)
    assert sum("Mã" in t for t in texts) == 1, "one receipt: nothing handled twice or out of order"


async def test_no_zalo_id_or_name_in_database_files_logs_or_redis(
    settings: Settings, clock: FakeClock, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user = ZaloUser(chat_id="9f8e7d6c5b4a39281706", display_name="Phạm Văn Riêng Tư")
    async with zalo_rig(settings, clock, redis_url=redis_url) as rig:
        rig.api.media["p.jpg"] = jpeg_with_gps()
        for line in ("dang ky hoc sinh", "bao tin", "Mot quan bar o phuong Ben Thanh", "bo qua"):
            await rig.send(user.text(line))
        await rig.send(user.photo(rig.media_url("p.jpg")))
        for line in ("xong", "khong", "gui", "1"):
            await rig.send(user.text(line))
        await rig.send(user.text("hello group", chat_type="GROUP", chat_id="grp-77aa88bb99cc"))
        await rig.send(user.event("message.unsupported.received"))
        data_dir: Path = rig.settings.data_dir
        db_url = rig.settings.effective_database_url

    secrets = [user.chat_id, user.display_name, "grp-77aa88bb99cc"]
    engine = create_engine(db_url)
    dumped: list[str] = []
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
            for table in tables:
                rows = (await conn.execute(sa.text(f'SELECT * FROM "{table}"'))).all()
                dumped.extend(str(tuple(r)) for r in rows)
    finally:
        await engine.dispose()
    assert any("zalo" in d for d in dumped), "the scan saw the Zalo rows"
    files = await asyncio.to_thread(
        lambda: b"".join(p.read_bytes() for p in data_dir.rglob("*") if p.is_file())
    )
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    try:
        keys = [k async for k in redis.scan_iter()]
        values = [await redis.dump(k) or b"" for k in keys]
    finally:
        await redis.aclose()
    assert keys, "the scan saw Redis"
    for secret in secrets:
        assert not any(secret in d for d in dumped), secret
        assert secret.encode() not in files, secret
        assert secret not in caplog.text, secret
        assert not any(
            secret.encode() in k or secret.encode() in v for k, v in zip(keys, values, strict=True)
        )
