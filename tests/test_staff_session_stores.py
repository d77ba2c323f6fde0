"""Staff sessions on both stores: the database alone, and Redis written through to the
database (HOTLINE_REDIS_URL). Idle and absolute timeouts, sign-out and logout everywhere
on both; with Redis: no database write per request, nothing lost when Redis is flushed or
down, and a session ended in the database is refused."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa

from core.officers import Role
from hotline.bootstrap import Services
from hotline.settings import Settings
from storage.models import StaffSessionRow
from tests.conftest import ADMIN_PASSWORD, PROVINCE, TOTP_SECRET, FakeClock

LOGIN = "/api/v1/staff/session"


@pytest.fixture(params=["database", "redis"])
def settings(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Settings:
    redis = request.getfixturevalue("redis_url") if request.param == "redis" else None
    return Settings(database_url=db_url, data_dir=tmp_path / "var", province=PROVINCE, redis_url=redis)


async def sign_in(client: Any, services: Services, clock: FakeClock) -> dict[str, str]:
    if not hasattr(services, "_lan"):
        await services.staff.add_officer(
            username="lan",
            password=ADMIN_PASSWORD,
            agency_code=f"police:{PROVINCE}",
            area_code=PROVINCE,
            role=Role.OFFICER,
            totp_secret=TOTP_SECRET,
        )
        object.__setattr__(services, "_lan", True)
    clock.advance(seconds=30)  # a fresh TOTP step for each sign-in
    body = {"username": "lan", "password": ADMIN_PASSWORD, "otp": pyotp.TOTP(TOTP_SECRET).at(clock())}
    resp = await client.post(LOGIN, json=body)
    assert resp.status == 201
    client.session.cookie_jar.clear()
    return {
        "Cookie": f"hotline_staff={resp.cookies['hotline_staff'].value}",
        "X-CSRF-Token": (await resp.json())["csrf_token"],
    }


async def redis_keys(services: Services) -> list[str]:
    from redis.asyncio import Redis

    assert services.settings.redis_url
    redis = Redis.from_url(services.settings.redis_url)
    try:
        return [k.decode() for k in await redis.keys("hotline:sess:*")]
    finally:
        await redis.aclose()


async def flush_redis(services: Services) -> None:
    from redis.asyncio import Redis

    assert services.settings.redis_url
    redis = Redis.from_url(services.settings.redis_url)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()


async def db_last_seen(services: Services) -> list[datetime]:
    async with services.engine.connect() as conn:
        return list((await conn.execute(sa.select(StaffSessionRow.last_seen_at))).scalars())


def with_redis(services: Services) -> None:
    if not services.settings.redis_url:
        pytest.skip("the Redis store only")


async def test_idle_and_absolute_timeouts(client: Any, services: Services, clock: FakeClock) -> None:
    headers = await sign_in(client, services, clock)
    clock.advance(minutes=29)
    assert (await client.get(LOGIN, headers=headers)).status == 200
    clock.advance(minutes=31)
    assert (await client.get(LOGIN, headers=headers)).status == 401

    headers = await sign_in(client, services, clock)
    for _ in range(35):  # every 20 minutes: never idle too long...
        clock.advance(minutes=20)
        assert (await client.get(LOGIN, headers=headers)).status == 200
    clock.advance(minutes=20)  # ...but 12 hours after sign-in it ends anyway
    assert (await client.get(LOGIN, headers=headers)).status == 401


async def test_sign_out_and_logout_everywhere(client: Any, services: Services, clock: FakeClock) -> None:
    one, two, three = [await sign_in(client, services, clock) for _ in range(3)]
    if services.settings.redis_url:
        assert len(await redis_keys(services)) == 3
    assert (await client.delete(LOGIN, headers=one)).status == 204
    assert (await client.get(LOGIN, headers=one)).status == 401
    assert (await client.get(LOGIN, headers=two)).status == 200
    assert (await client.delete(f"{LOGIN}?everywhere=1", headers=two)).status == 204
    assert (await client.get(LOGIN, headers=three)).status == 401
    assert await db_last_seen(services) == []
    if services.settings.redis_url:
        assert await redis_keys(services) == []


async def test_redis_spares_the_database_a_write_per_request(
    client: Any, services: Services, clock: FakeClock
) -> None:
    with_redis(services)
    headers = await sign_in(client, services, clock)
    [signed_in_at] = await db_last_seen(services)
    for _ in range(5):
        clock.advance(seconds=10)
        assert (await client.get(LOGIN, headers=headers)).status == 200
    assert await db_last_seen(services) == [signed_in_at]  # Redis alone saw those
    clock.advance(seconds=15)  # a minute since the last check: back to the database
    assert (await client.get(LOGIN, headers=headers)).status == 200
    [caught_up] = await db_last_seen(services)
    assert caught_up > signed_in_at


async def test_sessions_survive_a_redis_flush(client: Any, services: Services, clock: FakeClock) -> None:
    with_redis(services)
    headers = await sign_in(client, services, clock)
    await flush_redis(services)  # Redis restarted without its data
    assert (await client.get(LOGIN, headers=headers)).status == 200
    assert len(await redis_keys(services)) == 1  # cached again from the database
    clock.advance(minutes=31)
    assert (await client.get(LOGIN, headers=headers)).status == 401  # timeouts still hold


async def test_a_session_ended_in_the_database_is_refused(
    client: Any, services: Services, clock: FakeClock
) -> None:
    """E.g. logout everywhere from a worker that could not reach Redis at that moment."""
    with_redis(services)
    headers = await sign_in(client, services, clock)
    async with services.engine.begin() as conn:
        await conn.execute(sa.delete(StaffSessionRow))
    clock.advance(seconds=61)
    assert (await client.get(LOGIN, headers=headers)).status == 401
    assert await redis_keys(services) == []


async def test_sign_in_works_with_redis_down(
    aiohttp_client: Any, db_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    from handlers.app import create_app

    down = Settings(
        database_url=db_url,
        data_dir=tmp_path / "var",
        province=PROVINCE,
        redis_url="redis://127.0.0.1:9/0",  # nothing listens there
    )
    client = await aiohttp_client(create_app(down, clock=clock))
    from hotline.bootstrap import open_services

    async with open_services(down, clock) as services:
        headers = await sign_in(client, services, clock)
        clock.advance(minutes=5)
        assert (await client.get(LOGIN, headers=headers)).status == 200
        assert (await client.delete(LOGIN, headers=headers)).status == 204
        assert (await client.get(LOGIN, headers=headers)).status == 401
