"""Attachments reach staff only through an authorised, audited download of their own
jurisdiction's tips; the URL of another jurisdiction's file is a 404."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from core.categories import Category
from hotline.bootstrap import Services
from storage.models import AuditRow
from tests.builders import draft
from tests.conftest import COMMUNE, REMOTE_COMMUNE, add_staff
from tests.test_web_api import jpeg


async def test_download_is_scoped_audited_and_never_inline(client: Any, services: Services) -> None:
    ours = await services.intake.submit(draft(category=Category.VENUE, commune_code=COMMUNE), files=[jpeg()])
    theirs = await services.intake.submit(
        draft(category=Category.VENUE, commune_code=REMOTE_COMMUNE), files=[jpeg()]
    )
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    resp = await client.get(f"/api/v1/staff/tips/{ours.tip_id}/attachments/1", headers=officer)
    assert resp.status == 200
    assert resp.content_type == "image/jpeg"
    assert resp.headers["Content-Disposition"] == f'attachment; filename="tip-{ours.tip_id}-1.jpg"'
    assert resp.headers["Cache-Control"] == "no-store"
    assert "sandbox" in resp.headers["Content-Security-Policy"]
    assert (await resp.read()).startswith(b"\xff\xd8")
    for path in (
        f"/api/v1/staff/tips/{theirs.tip_id}/attachments/1",  # another commune's file
        f"/api/v1/staff/tips/{ours.tip_id}/attachments/2",
        f"/api/v1/staff/tips/{ours.tip_id}/attachments/0",
        f"/api/v1/staff/tips/{ours.tip_id}/attachments/x",
        f"/staff/tips/{theirs.tip_id}/attachments/1",
    ):
        assert (await client.get(path, headers=officer)).status == 404, path
    assert (await client.get(f"/api/v1/staff/tips/{ours.tip_id}/attachments/1")).status == 401
    resp = await client.get(f"/staff/tips/{ours.tip_id}/attachments/1", allow_redirects=False)
    assert resp.status == 303
    page = await (await client.get(f"/staff/tips/{ours.tip_id}", headers=officer)).text()
    assert f'href="/staff/tips/{ours.tip_id}/attachments/1"' in page
    assert (await client.get(f"/staff/tips/{ours.tip_id}/attachments/1", headers=officer)).status == 200
    async with services.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(AuditRow.actor, AuditRow.tip_id, AuditRow.detail).where(
                    AuditRow.action == "download"
                )
            )
        ).all()
    assert [tuple(r) for r in rows] == [("officer:lan", ours.tip_id, "1")] * 2
