"""A forgotten officer password is replaced from the command line or by an administrator
at /staff/officers; every session of that officer ends, and the change is audited."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa

from core.errors import SignInRefused
from core.officers import Role
from hotline.bootstrap import Services, open_services
from hotline.settings import Settings
from storage.models import AuditRow, StaffSessionRow
from tests.conftest import ADMIN_PASSWORD, COMMUNE, PROVINCE, TOTP_SECRET, add_staff
from tests.test_cli import env, run  # noqa: F401

NEW = "a brand new long password"


def test_reset_password_from_the_command_line_ends_the_sessions(
    env: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    settings = Settings(database_url=env, data_dir=tmp_path / "var", province="79")

    async def signed_in_officer() -> None:
        async with open_services(settings) as services:
            await services.staff.add_officer(
                username="an",
                password=ADMIN_PASSWORD,
                agency_code="police:79",
                area_code="79",
                role=Role.OFFICER,
                totp_secret=TOTP_SECRET,
            )
            await services.staff.sign_in("an", ADMIN_PASSWORD, pyotp.TOTP(TOTP_SECRET).now())

    async def state() -> tuple[int, list[tuple[str, str]]]:
        async with open_services(settings) as services, services.engine.connect() as conn:
            sessions = await conn.scalar(sa.select(sa.func.count()).select_from(StaffSessionRow))
            audit = [tuple(r) for r in await conn.execute(sa.select(AuditRow.actor, AuditRow.action))]
            return int(sessions or 0), audit  # type: ignore[return-value]

    asyncio.run(signed_in_officer())
    assert asyncio.run(state())[0] == 1
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW + "\n"))
    code, out, err = run(capsys, "officer", "reset-password", "--username", "an", "--password-stdin")
    assert code == 0 and "sessions ended" in out, err
    sessions, audit = asyncio.run(state())
    assert sessions == 0 and ("cli", "password_reset") in audit

    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code, _, err = run(capsys, "officer", "reset-password", "--username", "an", "--password-stdin")
    assert code == 1 and "12 characters" in err
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW + "\n"))
    code, _, err = run(capsys, "officer", "reset-password", "--username", "nobody", "--password-stdin")
    assert code == 1 and "no officer nobody" in err

    async def sign_in_with(password: str) -> bool:
        async with open_services(settings) as services:
            try:
                await services.staff.sign_in("an", password, pyotp.TOTP(TOTP_SECRET).now())
            except SignInRefused:
                return False
            return True

    assert not asyncio.run(sign_in_with(ADMIN_PASSWORD))


async def test_an_administrator_resets_a_password_at_the_officers_page(
    client: Any, services: Services, admin: dict[str, str]
) -> None:
    await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    page = await client.get("/staff/officers", headers={"Cookie": admin["Cookie"]})
    html = await page.text()
    assert page.status == 200 and 'action="/staff/officers/lan/password"' in html
    csrf = admin["X-CSRF-Token"]
    resp = await client.post(
        "/staff/officers/lan/password",
        data={"csrf_token": csrf, "password": NEW},
        headers={"Cookie": admin["Cookie"]},
        allow_redirects=False,
    )
    assert resp.status == 303
    async with services.engine.connect() as conn:
        owners = await conn.scalars(sa.select(StaffSessionRow.officer_id))
        assert len(list(owners)) == 1  # only the administrator's own session is left
    with pytest.raises(SignInRefused):
        await services.staff.sign_in("lan", ADMIN_PASSWORD, pyotp.TOTP(TOTP_SECRET).now())
    # too short: refused with a message, nothing changed
    resp = await client.post(
        "/staff/officers/lan/password",
        data={"csrf_token": csrf, "password": "short"},
        headers={"Cookie": admin["Cookie"]},
    )
    assert resp.status == 422 and "12" in await resp.text()
    # an officer who is not an administrator cannot
    lan = await add_staff(services, "binh", f"police:{PROVINCE}", PROVINCE)
    resp = await client.post(
        "/staff/officers/lan/password",
        data={"csrf_token": lan["X-CSRF-Token"], "password": NEW},
        headers={"Cookie": lan["Cookie"]},
    )
    assert resp.status == 403
