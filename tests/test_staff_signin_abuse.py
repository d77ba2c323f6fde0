"""Sign-in abuse across accounts: an unknown username is answered exactly like a known one
(the same 401s, then the same 429 "locked"), argon2 runs for it too, and a global budget of
failures stops password spraying over many names. On in-process counters and on Redis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa

import core.officers
from core.officers import Role
from hotline.bootstrap import Services
from hotline.settings import Settings
from storage.models import AuditRow
from tests.conftest import ADMIN_PASSWORD, PROVINCE, TOTP_SECRET, FakeClock

LOGIN = "/api/v1/staff/session"


@pytest.fixture(params=["memory", "redis"])
def settings(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Settings:
    redis = request.getfixturevalue("redis_url") if request.param == "redis" else None
    return Settings(
        database_url=db_url,
        data_dir=tmp_path / "var",
        province=PROVINCE,
        redis_url=redis,
        staff_failed_logins_per_5_minutes=12,
        staff_failed_logins_per_source_per_5_minutes=12,  # one client here: the budget is under test
    )


async def add_lan(services: Services) -> None:
    await services.staff.add_officer(
        username="lan",
        password=ADMIN_PASSWORD,
        agency_code=f"police:{PROVINCE}",
        area_code=PROVINCE,
        role=Role.OFFICER,
        totp_secret=TOTP_SECRET,
    )


async def attempt(client: Any, clock: FakeClock, username: str, password: str = "wrong password!") -> Any:
    body = {"username": username, "password": password, "otp": pyotp.TOTP(TOTP_SECRET).at(clock())}
    resp = await client.post(LOGIN, json=body)
    client.session.cookie_jar.clear()
    return resp


async def answers(client: Any, clock: FakeClock, username: str) -> list[tuple[int, dict[str, Any]]]:
    out = []
    for _ in range(7):
        resp = await attempt(client, clock, username)
        body = await resp.json()
        out.append((resp.status, body))
        if resp.status == 429:
            assert 0 < int(resp.headers["Retry-After"]) <= 15 * 60
    return out


async def test_unknown_usernames_answer_like_known_ones(
    client: Any, services: Services, clock: FakeClock
) -> None:
    await add_lan(services)
    known = await answers(client, clock, "lan")
    unknown = await answers(client, clock, "ghost")
    # Same statuses in the same order (5 refusals, then locked), same bodies.
    assert [s for s, _ in known] == [401] * 5 + [429] * 2
    assert known == unknown
    async with services.engine.connect() as conn:
        rows = (await conn.execute(sa.select(AuditRow.actor, AuditRow.detail).order_by(AuditRow.id))).all()
    assert ("officer:?", "locked") in [tuple(r) for r in rows]
    assert all("ghost" not in (r.actor + r.detail) for r in rows)


async def test_argon2_runs_for_an_unknown_username(
    client: Any, services: Services, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_lan(services)
    calls: list[str] = []
    real = core.officers._HASHER
    dummy = core.officers._dummy_hash()

    class Counting:
        def verify(self, stored: str, password: str) -> bool:
            calls.append(stored)
            return real.verify(stored, password)

    monkeypatch.setattr(core.officers, "_HASHER", Counting())
    assert (await attempt(client, clock, "ghost")).status == 401
    assert (await attempt(client, clock, "lan")).status == 401
    assert len(calls) == 2 and calls[0] == dummy


async def test_a_global_budget_stops_spraying_one_password_over_many_names(
    client: Any, services: Services, clock: FakeClock
) -> None:
    await add_lan(services)
    body = {"username": "lan", "password": ADMIN_PASSWORD, "otp": pyotp.TOTP(TOTP_SECRET).at(clock())}
    session = await client.post(LOGIN, json=body)
    assert session.status == 201
    cookie = {"Cookie": f"hotline_staff={session.cookies['hotline_staff'].value}"}
    client.session.cookie_jar.clear()
    for n in range(12):  # under each name's own limit, over the budget of 12 together
        assert (await attempt(client, clock, f"user{n}", "Summer2026!!")).status == 401
    clock.advance(seconds=30)
    refused = await attempt(client, clock, "lan", ADMIN_PASSWORD)  # even the right password
    assert refused.status == 429
    assert (await refused.json())["error"]["code"] == "locked"
    assert (await client.get(LOGIN, headers=cookie)).status == 200  # open sessions go on
    async with services.engine.connect() as conn:
        details = (await conn.execute(sa.select(AuditRow.detail).order_by(AuditRow.id))).scalars().all()
    assert details[-1] == "throttled"


async def test_counters_never_name_the_username(client: Any, services: Services, clock: FakeClock) -> None:
    if not services.settings.redis_url:
        pytest.skip("Redis keys only")
    from redis.asyncio import Redis

    for _ in range(3):
        await attempt(client, clock, "ghost-name")
    redis = Redis.from_url(services.settings.redis_url)
    try:
        keys = [k.decode() for k in await redis.keys("*")]
    finally:
        await redis.aclose()
    assert any("signin:name:" in k for k in keys) and any("signin:global" in k for k in keys)
    assert not any("ghost" in k for k in keys)
