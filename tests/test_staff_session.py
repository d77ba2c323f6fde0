"""Staff sign-in over HTTP: password + TOTP, lockout, session timeouts, CSRF and sign-out;
every sign-in and failed sign-in lands in the audit log."""

from __future__ import annotations

from typing import Any

import pyotp
import sqlalchemy as sa

from core.officers import Role
from hotline.bootstrap import Services
from storage.models import AuditRow, StaffSessionRow
from tests.builders import submit
from tests.conftest import ADMIN_PASSWORD, PROVINCE, TOTP_SECRET, FakeClock, add_staff

LOGIN = "/api/v1/staff/session"


async def officer(services: Services) -> None:
    await services.staff.add_officer(
        username="lan",
        password=ADMIN_PASSWORD,
        agency_code=f"police:{PROVINCE}",
        area_code=PROVINCE,
        role=Role.OFFICER,
        totp_secret=TOTP_SECRET,
    )


def code(clock: FakeClock) -> str:
    return pyotp.TOTP(TOTP_SECRET).at(clock())


async def sign_in(client: Any, clock: FakeClock, **kw: str) -> Any:
    body = {"username": "lan", "password": ADMIN_PASSWORD, "otp": code(clock), **kw}
    resp = await client.post(LOGIN, json=body)
    client.session.cookie_jar.clear()  # every test request names its cookie explicitly
    return resp


def headers_of(resp: Any, body: dict[str, Any]) -> dict[str, str]:
    return {
        "Cookie": f"hotline_staff={resp.cookies['hotline_staff'].value}",
        "X-CSRF-Token": body["csrf_token"],
    }


async def audit(services: Services) -> list[tuple[str, str, str]]:
    async with services.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(AuditRow.actor, AuditRow.action, AuditRow.detail).order_by(AuditRow.id)
        )
        return [(r.actor, r.action, r.detail) for r in rows]


async def test_sign_in_sets_a_strict_session_cookie_and_is_audited(
    client: Any, services: Services, clock: FakeClock
) -> None:
    await officer(services)
    resp = await sign_in(client, clock)
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["username"] == "lan" and body["role"] == "officer" and len(body["csrf_token"]) >= 32
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Strict" in cookie
    token = resp.cookies["hotline_staff"].value
    async with services.engine.connect() as conn:
        stored = await conn.scalar(sa.select(StaffSessionRow.token_hash))
    assert stored is not None and token not in stored  # only a hash of the token is kept
    me = await client.get(LOGIN, headers=headers_of(resp, body))
    assert me.status == 200
    assert (await me.json())["csrf_token"] == body["csrf_token"]
    assert await audit(services) == [("officer:lan", "login", "")]


async def test_wrong_password_wrong_code_unknown_user_and_replay_are_refused(
    client: Any, services: Services, clock: FakeClock
) -> None:
    await officer(services)
    for kw in ({"password": "not the password at all"}, {"otp": "000000"}, {"username": "nobody"}):
        resp = await sign_in(client, clock, **kw)
        assert resp.status == 401
        assert (await resp.json())["error"]["code"] == "sign_in_refused"
        assert "hotline_staff" not in resp.cookies
    assert (await sign_in(client, clock)).status == 201
    # The same code again (someone who watched it typed) is refused, even within its 30 s.
    assert (await sign_in(client, clock)).status == 401
    clock.advance(seconds=30)
    assert (await sign_in(client, clock)).status == 201
    assert await audit(services) == [
        ("officer:lan", "login_failed", "password"),
        ("officer:lan", "login_failed", "otp"),
        ("officer:?", "login_failed", ""),
        ("officer:lan", "login", ""),
        ("officer:lan", "login_failed", "otp"),
        ("officer:lan", "login", ""),
    ]


async def test_lockout_after_repeated_failures(client: Any, services: Services, clock: FakeClock) -> None:
    await officer(services)
    for _ in range(5):
        assert (await sign_in(client, clock, otp="123456")).status == 401
    resp = await sign_in(client, clock)  # right password and code, but locked
    assert resp.status == 429
    assert (await resp.json())["error"]["code"] == "locked"
    assert 0 < int(resp.headers["Retry-After"]) <= 15 * 60
    clock.advance(minutes=16)
    assert (await sign_in(client, clock)).status == 201
    actions = [(a, d) for _, a, d in await audit(services)]
    assert actions[4] == ("login_failed", "otp,locked")
    assert actions[5] == ("login_failed", "locked")
    assert actions[-1] == ("login", "")


async def test_idle_and_absolute_timeouts(client: Any, services: Services, clock: FakeClock) -> None:
    await officer(services)
    resp = await sign_in(client, clock)
    headers = headers_of(resp, await resp.json())
    clock.advance(minutes=29)
    assert (await client.get(LOGIN, headers=headers)).status == 200
    clock.advance(minutes=31)
    resp = await client.get(LOGIN, headers=headers)
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "not_signed_in"

    resp = await sign_in(client, clock)
    headers = headers_of(resp, await resp.json())
    for _ in range(35):  # active every 20 minutes: the idle limit never trips...
        clock.advance(minutes=20)
        assert (await client.get(LOGIN, headers=headers)).status == 200
    clock.advance(minutes=20)  # ...but 12 hours after sign-in the session ends anyway
    assert (await client.get(LOGIN, headers=headers)).status == 401


async def test_every_write_needs_the_csrf_token(client: Any, services: Services, clock: FakeClock) -> None:
    await submit(services.intake)
    headers = await add_staff(services, "admin", f"police:{PROVINCE}", PROVINCE, Role.ADMIN)
    cookie_only = {"Cookie": headers["Cookie"]}
    wrong = {**cookie_only, "X-CSRF-Token": "x" * 43}
    writes = [
        ("/api/v1/staff/tips/1/transitions", {"to": "verified"}),
        ("/api/v1/staff/tips/1/extensions", {"reason": "complex"}),
        ("/api/v1/staff/tips/1/replies", {"text": "Cảm ơn"}),
    ]
    for path, body in writes:
        for bad in (cookie_only, wrong):
            resp = await client.post(path, json=body, headers=bad)
            assert resp.status == 403, path
            assert (await resp.json())["error"]["code"] == "csrf"
    assert (await client.delete(LOGIN, headers=cookie_only)).status == 403
    tip = await (await client.get("/api/v1/staff/tips/1", headers=headers)).json()
    assert tip["stage"] == "received" and tip["extensions"] == 0
    for path, body in writes:
        assert (await client.post(path, json=body, headers=headers)).status in (200, 201), path


async def test_sign_out_and_sign_out_everywhere(client: Any, services: Services, clock: FakeClock) -> None:
    await officer(services)
    first = await sign_in(client, clock)
    one = headers_of(first, await first.json())
    clock.advance(seconds=30)
    second = await sign_in(client, clock)
    two = headers_of(second, await second.json())
    clock.advance(seconds=30)
    third = await sign_in(client, clock)
    three = headers_of(third, await third.json())

    resp = await client.delete(LOGIN, headers=one)
    assert resp.status == 204
    assert (await client.get(LOGIN, headers=one)).status == 401
    assert (await client.get(LOGIN, headers=two)).status == 200
    assert (await client.delete(f"{LOGIN}?everywhere=1", headers=two)).status == 204
    assert (await client.get(LOGIN, headers=two)).status == 401
    assert (await client.get(LOGIN, headers=three)).status == 401
    actions = [a for _, a, _ in await audit(services)]
    assert actions[-2:] == ["logout", "logout_everywhere"]


async def test_an_inactive_officer_loses_their_session(
    client: Any, services: Services, clock: FakeClock
) -> None:
    from storage.models import OfficerRow

    await officer(services)
    resp = await sign_in(client, clock)
    headers = headers_of(resp, await resp.json())
    async with services.engine.begin() as conn:
        await conn.execute(sa.update(OfficerRow).values(active=False))
    assert (await client.get(LOGIN, headers=headers)).status == 401
    clock.advance(seconds=30)
    assert (await sign_in(client, clock)).status == 401


async def test_ended_sessions_are_swept_at_the_next_sign_in(
    client: Any, services: Services, clock: FakeClock
) -> None:
    await officer(services)
    assert (await sign_in(client, clock)).status == 201
    clock.advance(minutes=10)
    assert (await sign_in(client, clock)).status == 201
    clock.advance(minutes=25)  # the first is now idle for 35 minutes, the second for 25
    assert (await sign_in(client, clock)).status == 201
    async with services.engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(StaffSessionRow)) == 2


async def test_first_sign_in_enrols_a_second_factor_once(
    client: Any, services: Services, clock: FakeClock
) -> None:
    await services.staff.add_officer(
        username="lan",
        password=ADMIN_PASSWORD,
        agency_code=f"police:{PROVINCE}",
        area_code=PROVINCE,
        role=Role.OFFICER,
    )
    resp = await sign_in(client, clock, password="not the password at all", otp="")
    assert resp.status == 401  # a wrong password learns nothing about enrolment
    resp = await client.post(LOGIN, json={"username": "lan", "password": ADMIN_PASSWORD})
    assert resp.status == 403
    error = (await resp.json())["error"]
    assert error["code"] == "totp_enrolment" and "hotline_staff" not in resp.cookies
    secret = error["totp_secret"]
    assert error["otpauth_uri"].startswith("otpauth://totp/Hotline:lan?secret=" + secret)
    # Shown once: the next password-only attempt is an ordinary failed sign-in.
    resp = await client.post(LOGIN, json={"username": "lan", "password": ADMIN_PASSWORD})
    assert resp.status == 401
    resp = await client.post(
        LOGIN, json={"username": "lan", "password": ADMIN_PASSWORD, "otp": pyotp.TOTP(secret).at(clock())}
    )
    assert resp.status == 201
    actions = [a for _, a, _ in await audit(services)]
    assert actions == ["login_failed", "totp_enrolled", "login_failed", "login"]


async def test_first_sign_in_page_shows_a_qr_code(client: Any, services: Services) -> None:
    await services.staff.add_officer(
        username="lan",
        password=ADMIN_PASSWORD,
        agency_code=f"police:{PROVINCE}",
        area_code=PROVINCE,
        role=Role.OFFICER,
    )
    page = await client.get("/staff/login")
    token = page.cookies["csrf"].value
    resp = await client.post(
        "/staff/login",
        data={"csrf_token": token, "username": "lan", "password": ADMIN_PASSWORD, "otp": ""},
        headers={"Cookie": f"csrf={token}"},
        allow_redirects=False,
    )
    assert resp.status == 200
    html = await resp.text()
    assert "<svg" in html and "<script" not in html.lower()
    from storage.models import OfficerRow

    async with services.engine.connect() as conn:
        secret = await conn.scalar(sa.select(OfficerRow.totp_secret))
    assert secret and f"<code>{secret}</code>" in html


async def test_reset_second_factor_ends_sessions_and_enrols_again(
    client: Any, services: Services, clock: FakeClock
) -> None:
    await officer(services)
    resp = await sign_in(client, clock)
    headers = headers_of(resp, await resp.json())
    await services.staff.reset_second_factor("lan", actor="cli")
    assert (await client.get(LOGIN, headers=headers)).status == 401
    resp = await client.post(LOGIN, json={"username": "lan", "password": ADMIN_PASSWORD})
    assert resp.status == 403
    assert (await resp.json())["error"]["totp_secret"] != TOTP_SECRET
