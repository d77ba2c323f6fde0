"""Ids in staff URLs: anything but a plain number the database can hold is a 404, never a
500 or a database error (`²` is a digit to `str.isdigit`, 20 digits overflow a bigint)."""

from __future__ import annotations

from typing import Any

import pytest

from core.officers import Role
from hotline.bootstrap import Services
from tests.conftest import PROVINCE, add_staff

ODD = ["%C2%B2", "99999999999999999999", "-1", "1e3", "%D9%A3"]  # ², 20 digits, -1, 1e3, Arabic 3


@pytest.mark.parametrize("odd", ODD)
async def test_odd_ids_in_staff_urls_are_not_found(client: Any, services: Services, odd: str) -> None:
    admin = await add_staff(services, "admin", f"police:{PROVINCE}", PROVINCE, Role.ADMIN)
    for path in (
        f"/api/v1/staff/tips/{odd}",
        f"/api/v1/staff/tips/1/attachments/{odd}",
        f"/staff/content/{odd}",
        f"/staff/campaigns/{odd}",
    ):
        resp = await client.get(path, headers=admin)
        assert resp.status == 404, (path, resp.status, await resp.text())
