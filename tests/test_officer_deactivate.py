"""Deactivating an account: from the CLI (`hotline officer deactivate|activate`)
and from the administrators' `/staff/officers` page. A deactivated officer is refused at
sign-in exactly like wrong credentials (no username oracle), every session of theirs ends
at once (database and Redis sessions alike), and each change is audited."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa

from core.errors import SignInRefused
from core.officers import Role
from hotline.bootstrap import Services, open_services
from hotline.cli import main
from hotline.settings import Settings
from storage.models import AuditRow, OfficerRow, StaffSessionRow
from tests.conftest import ADMIN_PASSWORD, COMMUNE, PROVINCE, TOTP_SECRET, FakeClock, add_staff

LOGIN = "/api/v1/staff/session"


@pytest.fixture(params=["database", "redis"])
def settings(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Settings:
    redis = request.getfixturevalue("redis_url") if request.param == "redis" else None
    return Settings(database_url=db_url, data_dir=tmp_path / "var", province=PROVINCE, redis_url=redis)


async def fetch(client: Any, method: str, path: str, headers: dict[str, str], **kw: Any) -> Any:
    client.session.cookie_jar.clear()  # each request names its cookies explicitly
    return await client.request(method, path, headers=headers, allow_redirects=False, **kw)


def cookie(headers: dict[str, str]) -> dict[str, str]:
    return {"Cookie": headers["Cookie"]}


async def api_sign_in(client: Any, clock: FakeClock, username: str, password: str = ADMIN_PASSWORD) -> Any:
    clock.advance(seconds=30)  # a fresh TOTP step: codes are never accepted twice
    body = {"username": username, "password": password, "otp": pyotp.TOTP(TOTP_SECRET).at(clock())}
    resp = await client.post(LOGIN, json=body)
    client.session.cookie_jar.clear()
    return resp


async def audit(services: Services, *actions: str) -> list[tuple[str, str, str]]:
    async with services.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(AuditRow.actor, AuditRow.action, AuditRow.detail)
            .where(AuditRow.action.in_(actions))
            .order_by(AuditRow.id)
        )
        return [(r.actor, r.action, r.detail) for r in rows]


async def session_rows(services: Services, username: str) -> int:
    async with services.engine.connect() as conn:
        count = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(StaffSessionRow)
            .join(OfficerRow, OfficerRow.id == StaffSessionRow.officer_id)
            .where(OfficerRow.username == username)
        )
        return int(count or 0)


async def test_admin_deactivates_and_activates_from_the_officers_page(
    client: Any, services: Services, clock: FakeClock
) -> None:
    admin = await add_staff(services, "admin", f"police:{PROVINCE}", PROVINCE, Role.ADMIN)
    lan = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    # A second session of lan's, on another PC.
    other = await api_sign_in(client, clock, "lan")
    assert other.status == 201
    lan_elsewhere = {"Cookie": f"hotline_staff={other.cookies['hotline_staff'].value}"}
    assert await session_rows(services, "lan") == 2

    page = await fetch(client, "GET", "/staff/officers", cookie(admin))
    html = await page.text()
    assert page.status == 200 and page.headers["Cache-Control"] == "no-store"
    assert 'href="/staff/officers"' in html and 'href="/staff/audit"' in html  # admin nav
    row = re.search(r"<tr><td[^>]*>lan</td>.*?</tr>", html, re.S)
    # The agency by name (its code in a tooltip), the role in words.
    assert row and f'title="police:{COMMUNE}"' in row.group(0) and ">Cán bộ<" in row.group(0)
    assert 'action="/staff/officers/deactivate"' in row.group(0) and "Vô hiệu hóa" in row.group(0)
    assert 'name="username" value="lan"' in row.group(0)
    # No button against oneself.
    own = re.search(r"<tr><td[^>]*>admin</td>.*?</tr>", html, re.S)
    assert own and "/staff/officers/deactivate" not in own.group(0)

    # CSRF like every staff form.
    resp = await fetch(client, "POST", "/staff/officers/deactivate", cookie(admin), data={"username": "lan"})
    assert resp.status == 403
    fields = {"csrf_token": admin["X-CSRF-Token"], "username": "lan"}
    resp = await fetch(client, "POST", "/staff/officers/deactivate", cookie(admin), data=fields)
    assert resp.status == 303 and resp.headers["Location"] == "/staff/officers"

    # Every session of lan's ended at once: pages, API and the second PC.
    assert await session_rows(services, "lan") == 0
    assert (await fetch(client, "GET", "/staff/", cookie(lan))).status == 303
    assert (await fetch(client, "GET", LOGIN, cookie(lan))).status == 401
    assert (await fetch(client, "GET", LOGIN, lan_elsewhere)).status == 401

    # Sign-in refused exactly like a wrong password and like an unknown name.
    refused = await api_sign_in(client, clock, "lan")
    wrong = await api_sign_in(client, clock, "admin", "a wrong password, long")
    unknown = await api_sign_in(client, clock, "nobody")
    assert refused.status == wrong.status == unknown.status == 401
    assert await refused.json() == await wrong.json() == await unknown.json()
    html = await (await fetch(client, "GET", "/staff/officers", cookie(admin))).text()
    row = re.search(r"<tr><td[^>]*>lan</td>.*?</tr>", html, re.S)
    assert row and 'action="/staff/officers/activate"' in row.group(0) and "Kích hoạt lại" in row.group(0)

    resp = await fetch(client, "POST", "/staff/officers/activate", cookie(admin), data=fields)
    assert resp.status == 303
    assert (await api_sign_in(client, clock, "lan")).status == 201
    assert await audit(services, "officer_deactivated", "officer_activated") == [
        ("officer:admin", "officer_deactivated", "officer:lan"),
        ("officer:admin", "officer_activated", "officer:lan"),
    ]


async def test_the_officers_page_is_for_admins_only(client: Any, services: Services) -> None:
    admin = await add_staff(services, "admin", f"police:{PROVINCE}", PROVINCE, Role.ADMIN)
    supervisor = await add_staff(services, "minh", f"police:{PROVINCE}", PROVINCE, Role.SUPERVISOR)
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    for headers in (supervisor, officer):
        assert (await fetch(client, "GET", "/staff/officers", cookie(headers))).status == 403
        fields = {"csrf_token": headers["X-CSRF-Token"], "username": "admin"}
        assert (
            await fetch(client, "POST", "/staff/officers/deactivate", cookie(headers), data=fields)
        ).status == 403
        html = await (await fetch(client, "GET", "/staff/", cookie(headers))).text()
        assert 'href="/staff/officers"' not in html and 'href="/staff/audit"' not in html
    assert (await fetch(client, "GET", "/staff/officers", {})).status == 303  # signed out: sign in
    # An administrator cannot lock themselves out; an unknown name is 404.
    fields = {"csrf_token": admin["X-CSRF-Token"], "username": "admin"}
    resp = await fetch(client, "POST", "/staff/officers/deactivate", cookie(admin), data=fields)
    refused = await resp.text()  # in Vietnamese; the core's English stays in the tooltip
    assert resp.status == 422 and "bạn không thể tự vô hiệu hóa hoặc kích hoạt tài khoản của mình" in refused
    assert 'title="you cannot deactivate or activate your own account"' in refused
    fields["username"] = "nobody"
    assert (
        await fetch(client, "POST", "/staff/officers/deactivate", cookie(admin), data=fields)
    ).status == 404
    assert (await fetch(client, "GET", LOGIN, cookie(admin))).status == 200
    assert await audit(services, "officer_deactivated", "officer_activated") == []


# --- the command line ------------------------------------------------------------------


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HOTLINE_PROVINCE", PROVINCE)
    return db_url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_deactivate_and_activate(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(ADMIN_PASSWORD + "\n"))
    base = ["officer", "add", "--agency", f"police:{PROVINCE}", "--area", PROVINCE, "--password-stdin"]
    code, _, err = run(capsys, *base, "--username", "an", "--totp-secret", TOTP_SECRET)
    assert code == 0, err
    conf = Settings(database_url=env, data_dir=tmp_path / "var", province=PROVINCE)
    now = datetime.now(UTC)

    async def sign_in(at: datetime) -> str:
        async with open_services(conf) as services:
            signed = await services.staff.sign_in("an", ADMIN_PASSWORD, pyotp.TOTP(TOTP_SECRET).at(at))
            return signed.token

    async def sessions() -> int:
        async with open_services(conf) as services:
            return await session_rows(services, "an")

    asyncio.run(sign_in(now - timedelta(seconds=30)))
    asyncio.run(sign_in(now))
    assert asyncio.run(sessions()) == 2

    code, out, err = run(capsys, "officer", "deactivate", "--username", "an")
    assert code == 0 and "deactivated" in out and "sessions ended" in out, err
    assert asyncio.run(sessions()) == 0
    with pytest.raises(SignInRefused) as refused:
        asyncio.run(sign_in(now + timedelta(seconds=30)))
    assert str(refused.value) == "wrong username, password or one-time code"
    code, out, _ = run(capsys, "officer", "deactivate", "--username", "an")
    assert code == 0 and "already" in out

    code, out, err = run(capsys, "officer", "activate", "--username", "an")
    assert code == 0 and "an active" in out, err
    assert asyncio.run(sign_in(now + timedelta(seconds=30)))
    code, _, err = run(capsys, "officer", "deactivate", "--username", "nobody")
    assert code == 1 and "no officer nobody" in err

    async def audited() -> list[tuple[str, str, str]]:
        async with open_services(conf) as services:
            return await audit(services, "officer_deactivated", "officer_activated")

    assert asyncio.run(audited()) == [
        ("cli", "officer_deactivated", "officer:an"),
        ("cli", "officer_activated", "officer:an"),
    ]
