"""Fairness per source, driven from two loopback addresses: a flood from 127.0.0.2 (junk
tips, status checks, sign-ins) never stops 127.0.0.1's tip, status check or an officer's
sign-in; an urgent tip over the limit is stored and says so; forwarding headers count only
from trusted proxies. On both databases, on in-process counters and on Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pyotp
import pytest
import sqlalchemy as sa
from redis.asyncio import Redis

from core.receipts import new_receipt_code
from core.sources import MemorySourceKeys, SourceHasher, normalise_address
from hotline.bootstrap import Services
from hotline.settings import Settings
from storage.models import TipRow
from storage.redis_sources import PREFIX, RedisSourceKeys
from tests.conftest import ADMIN_PASSWORD, PROVINCE, TOTP_SECRET, FakeClock, add_staff
from tests.test_web_api import app_services, count_rows

OTHER = "127.0.0.2"
STATUS = "/api/v1/tips/status"


@pytest.fixture(params=["memory", "redis"])
def settings(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Settings:
    redis = request.getfixturevalue("redis_url") if request.param == "redis" else None
    return Settings(
        database_url=db_url,
        data_dir=tmp_path / "var",
        province=PROVINCE,
        redis_url=redis,
        submissions_per_source_per_minute=5,
        urgent_over_limit_per_source_per_minute=3,
        failed_checks_per_source_per_minute=12,
        failed_checks_per_minute=30,
        staff_failed_logins_per_source_per_5_minutes=6,
        staff_failed_logins_per_5_minutes=20,
        trusted_proxies="10.9.0.0/16",
    )


@pytest.fixture
async def other(client: Any) -> AsyncIterator[Any]:
    """A second client whose connections come from 127.0.0.2."""
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(OTHER, 0)))
    yield session
    await session.close()


async def post(session: Any, client: Any, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with session.post(client.make_url(path), json=body) as resp:
        return resp.status, await resp.json()


async def test_a_flood_of_junk_tips_does_not_stop_another_reporter(client: Any, other: Any) -> None:
    flood = [(await post(other, client, "/api/v1/tips", {"text": f"rác {i}"}))[0] for i in range(40)]
    assert flood.count(201) <= 10  # five a minute, perhaps across a window's edge
    assert flood[-1] == 429
    resp = await client.post("/api/v1/tips", json={"text": "Quán karaoke Z có bán dâm", "urgent": True})
    assert resp.status == 201
    assert (await resp.json())["accepted_over_limit"] is False
    assert (await client.post("/api/v1/tips", json={"text": "một tin thường"})).status == 201


async def test_an_urgent_tip_over_the_limit_is_stored_and_says_so(client: Any, other: Any) -> None:
    for i in range(12):
        await post(other, client, "/api/v1/tips", {"text": f"rác {i}"})
    before = await count_rows(app_services(client), TipRow)
    status, body = await post(
        other, client, "/api/v1/tips", {"text": "Có người bị nhốt ngay bây giờ", "urgent": True}
    )
    assert status == 201
    assert body["accepted_over_limit"] is True
    assert body["emergency_numbers"] is not None
    assert await count_rows(app_services(client), TipRow) == before + 1
    # The allowance for urgent tips past the limit is bounded too: the box is no way to flood.
    statuses = [
        (await post(other, client, "/api/v1/tips", {"text": f"khẩn {i}", "urgent": True}))[0]
        for i in range(10)
    ]
    assert statuses[-1] == 429


async def test_a_flood_of_status_checks_does_not_stop_anothers_check(client: Any, other: Any) -> None:
    receipt = await (await client.post("/api/v1/tips", json={"text": "tin thật"})).json()
    statuses = [
        (
            await post(
                other, client, "/api/v1/tips/status", {"receipt_code": f"AAAAA-{i:05d}", "passphrase": "x"}
            )
        )[0]
        for i in range(60)
    ]
    assert statuses[-1] == 429
    right = {"receipt_code": receipt["receipt_code"], "passphrase": receipt["passphrase"]}
    assert (await client.post("/api/v1/tips/status", json=right)).status == 200


async def test_a_guesser_slows_the_informant_down_but_cannot_lock_them_out(client: Any, other: Any) -> None:
    receipt = await (await client.post("/api/v1/tips", json={"text": "tin thật"})).json()
    wrong = {"receipt_code": receipt["receipt_code"], "passphrase": "sai rồi"}
    statuses = [(await post(other, client, "/api/v1/tips/status", wrong))[0] for _ in range(7)]
    assert statuses[:5] == [404] * 5 and statuses[-1] == 429
    right = {"receipt_code": receipt["receipt_code"], "passphrase": receipt["passphrase"]}
    resp = await client.post("/api/v1/tips/status", json=right)
    # One attempt a minute still goes through; the guesser may have taken this minute's.
    assert resp.status in (200, 429)
    if resp.status == 429:
        assert int(resp.headers["Retry-After"]) <= 60


async def test_malformed_codes_count_apart_and_cost_a_lookup(client: Any) -> None:
    # A malformed code runs the same statements as a well-formed unknown one.
    engine = app_services(client).engine
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        await client.post(STATUS, json={"receipt_code": "nope", "passphrase": "x"})
        malformed = list(seen)
        seen.clear()
        await client.post(STATUS, json={"receipt_code": new_receipt_code(), "passphrase": "x"})
        well_formed = list(seen)
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert malformed and malformed == well_formed
    # Each typo counts under its own key: one locked typo does not lock the others.
    for _ in range(5):
        assert (await client.post(STATUS, json={"receipt_code": "!!", "passphrase": "x"})).status == 404
    assert (await client.post(STATUS, json={"receipt_code": "!!", "passphrase": "x"})).status in (404, 429)
    assert (await client.post(STATUS, json={"receipt_code": "!!", "passphrase": "x"})).status == 429
    assert (await client.post(STATUS, json={"receipt_code": "??", "passphrase": "x"})).status == 404


async def test_a_flood_of_sign_ins_does_not_lock_the_officers_out(
    client: Any, other: Any, clock: FakeClock
) -> None:
    services: Services = app_services(client)
    await add_staff(services, "admin", f"police:{PROVINCE}", PROVINCE)
    client.session.cookie_jar.clear()
    statuses = []
    for i in range(12):
        name = "admin" if i % 2 else f"ai-do-{i}"
        status, _ = await post(
            other,
            client,
            "/api/v1/staff/session",
            {"username": name, "password": f"sai {i}", "otp": "000000"},
        )
        statuses.append(status)
    assert statuses[-1] == 429
    clock.advance(seconds=30)  # a fresh one-time code: the one add_staff used is spent
    body = {"username": "admin", "password": ADMIN_PASSWORD, "otp": pyotp.TOTP(TOTP_SECRET).at(clock())}
    resp = await client.post("/api/v1/staff/session", json=body)
    assert resp.status == 201, await resp.text()


async def test_forwarded_for_counts_only_from_a_trusted_proxy(client: Any, other: Any) -> None:
    del other
    # 127.0.0.1 is no proxy of ours: its X-Forwarded-For is ignored, however it varies.
    statuses = [
        (
            await client.post(
                "/api/v1/tips", json={"text": f"rác {i}"}, headers={"X-Forwarded-For": f"203.0.113.{i}"}
            )
        ).status
        for i in range(20)
    ]
    assert statuses[-1] == 429


async def test_forwarded_headers_from_a_trusted_proxy(
    aiohttp_client: Any, settings: Settings, clock: FakeClock
) -> None:
    from handlers.app import create_app

    trusting = settings.model_copy(update={"trusted_proxies": "127.0.0.0/30"})
    client = await aiohttp_client(create_app(trusting, clock=clock))
    behind = {"X-Forwarded-For": "198.51.100.7, 127.0.0.2"}
    statuses = [
        (await client.post("/api/v1/tips", json={"text": f"rác {i}"}, headers=behind)).status
        for i in range(20)
    ]
    assert statuses[-1] == 429
    # Another client behind the same proxy is another source.
    resp = await client.post(
        "/api/v1/tips", json={"text": "tin thật"}, headers={"X-Forwarded-For": "198.51.100.8"}
    )
    assert resp.status == 201
    # A client cannot pose as another by writing to the left of what the proxy appended.
    spoof = {"X-Forwarded-For": "198.51.100.9, 198.51.100.7"}
    assert (await client.post("/api/v1/tips", json={"text": "giả"}, headers=spoof)).status == 429
    # Cookies are Secure when the proxy says the client used TLS.
    resp = await client.get("/report", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in resp.headers["Set-Cookie"]


async def test_forwarded_proto_from_anyone_else_is_ignored(client: Any) -> None:
    resp = await client.get("/report", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in resp.headers["Set-Cookie"]
    resp = await client.get("/lang/en", headers={"X-Forwarded-Proto": "https"}, allow_redirects=False)
    assert "Secure" not in resp.headers["Set-Cookie"]


async def test_trusted_proxies_are_validated() -> None:
    with pytest.raises(ValueError):
        Settings(trusted_proxies="10.0.0.0/8, not-an-address")
    assert [str(n) for n in Settings(trusted_proxies="10.0.0.1, 2001:db8::/32").trusted_networks] == [
        "10.0.0.1/32",
        "2001:db8::/32",
    ]


async def test_sources_are_keyed_hashes_that_rotate() -> None:
    now = [1_000_000.0]
    hasher = SourceHasher(MemorySourceKeys(), rotate_seconds=3600, clock=lambda: now[0])
    a = await hasher.source("127.0.0.1")
    assert a == await hasher.source("127.0.0.1") != await hasher.source("127.0.0.2")
    assert "127" not in a and len(a) == 24
    assert await hasher.source("2001:db8::1") == await hasher.source("2001:db8::ffff")  # one /64
    assert normalise_address("::ffff:10.1.2.3") == "10.1.2.3"
    now[0] += 3600
    assert await hasher.source("127.0.0.1") != a  # a new key each period


async def test_workers_share_the_source_key_through_redis(redis_url: str) -> None:
    first, second = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        day = 24 * 3600
        a = SourceHasher(RedisSourceKeys(first, rotate_seconds=day), rotate_seconds=day, clock=lambda: 5_000_000.0)
        b = SourceHasher(RedisSourceKeys(second, rotate_seconds=day), rotate_seconds=day, clock=lambda: 5_000_000.0)
        assert await a.source("127.0.0.1") == await b.source("127.0.0.1")
        keys = await first.keys(PREFIX + "*")
        assert len(keys) == 1 and 0 < await first.ttl(keys[0]) <= 2 * 24 * 3600
    finally:
        await first.aclose()
        await second.aclose()
