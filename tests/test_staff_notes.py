"""Staff notes: for colleagues of the tip's jurisdiction only, audited, and never part of
what the reporter sees."""

from __future__ import annotations

from typing import Any

from core.categories import Category
from hotline.bootstrap import Services
from tests.builders import draft
from tests.conftest import COMMUNE, REMOTE_COMMUNE, add_staff

NOTE = "Nhân chứng: chủ quán có quan hệ với cán bộ phường"


async def test_notes_stay_with_staff(client: Any, services: Services) -> None:
    receipt = await services.intake.submit(draft(category=Category.VENUE, commune_code=COMMUNE))
    path = f"/api/v1/staff/tips/{receipt.tip_id}"
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    other = await add_staff(services, "binh", f"police:{REMOTE_COMMUNE}", REMOTE_COMMUNE)
    assert (
        await client.post(f"{path}/notes", json={"text": NOTE}, headers={"Cookie": officer["Cookie"]})
    ).status == 403
    assert (await client.post(f"{path}/notes", json={"text": NOTE}, headers=other)).status == 404
    assert (await client.post(f"{path}/notes", json={"text": "  "}, headers=officer)).status == 422
    resp = await client.post(f"{path}/notes", json={"text": NOTE}, headers=officer)
    assert resp.status == 201
    body = await (await client.get(path, headers=officer)).json()
    assert [(n["actor"], n["text"]) for n in body["notes"]] == [("officer:lan", NOTE)]
    page = await (await client.get(f"/staff/tips/{receipt.tip_id}", headers=officer)).text()
    assert NOTE in page
    resp = await client.post(
        f"/staff/tips/{receipt.tip_id}/note",
        data={"csrf_token": officer["X-CSRF-Token"], "text": "lần hai"},
        headers={"Cookie": officer["Cookie"]},
        allow_redirects=False,
    )
    assert resp.status == 303
    status = await services.reporters.status(receipt.receipt_code, receipt.passphrase)
    assert list(status.messages) == []
    form = await client.get("/status")
    token = form.cookies["csrf"].value
    resp = await client.post(
        "/status",
        data={"csrf_token": token, "receipt_code": receipt.receipt_code, "passphrase": receipt.passphrase},
        headers={"Cookie": f"csrf={token}"},
    )
    assert resp.status == 200
    page = await resp.text()
    assert "Chưa có tin nhắn" in page or "No messages yet" in page  # the reporter's own page
    assert NOTE not in page and "lần hai" not in page
