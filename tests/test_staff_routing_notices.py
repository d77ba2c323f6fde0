"""Routing completed: the Department of Health is notified of trafficking and minor tips
(it reads them, audited, and cannot act on them); a complaint goes to the supervisors of
the agency complained about, never to its officers; misconduct stays with the
inspectorate. Over HTTP, on both databases."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from core.categories import Category
from core.jurisdiction import Jurisdiction
from core.officers import Role
from hotline.bootstrap import Services
from storage.models import AuditRow
from tests.builders import submit
from tests.conftest import COMMUNE, PROVINCE, REMOTE_COMMUNE, add_staff

TIPS = "/api/v1/staff/tips"


async def audit_actions(services: Services, tip_id: int) -> list[tuple[str, str]]:
    async with services.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(AuditRow.actor, AuditRow.action).where(AuditRow.tip_id == tip_id).order_by(AuditRow.id)
        )
        return [(r.actor, r.action) for r in rows]


async def test_health_is_notified_of_trafficking_and_reads_it_only(
    client: Any, services: Services
) -> None:
    trafficking = (await submit(services.intake, category=Category.TRAFFICKING, commune_code=COMMUNE)).tip_id
    venue = (await submit(services.intake, category=Category.VENUE, commune_code=COMMUNE)).tip_id
    police = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    health = await add_staff(services, "mai", f"health:{PROVINCE}", PROVINCE)
    chief = await add_staff(services, "hung", f"health:{PROVINCE}", PROVINCE, Role.SUPERVISOR)

    owner_view = await (await client.get(f"{TIPS}/{trafficking}", headers=police)).json()
    assert owner_view["agency_code"] == f"police:{COMMUNE}" and owner_view["read_only"] is False
    assert owner_view["notified"] == [f"health:{PROVINCE}"]

    for who in (health, chief):
        inbox = await (await client.get("/api/v1/staff/notifications", headers=who)).json()
        assert [n["id"] for n in inbox["items"]] == [trafficking]
        assert inbox["items"][0]["category"] == "trafficking" and "text" not in inbox["items"][0]
    queue = await (await client.get(TIPS, headers=health)).json()
    assert trafficking not in [i["id"] for i in queue["items"]]  # not theirs to work

    resp = await client.get(f"{TIPS}/{trafficking}", headers=health)
    assert resp.status == 200
    body = await resp.json()
    assert body["read_only"] is True and "notes" not in body
    assert (await client.get(f"{TIPS}/{venue}", headers=health)).status == 404
    for path, payload in [
        (f"{TIPS}/{trafficking}/transitions", {"to": "verified"}),
        (f"{TIPS}/{trafficking}/replies", {"text": "x"}),
        (f"{TIPS}/{trafficking}/notes", {"text": "x"}),
    ]:
        assert (await client.post(path, json=payload, headers=health)).status == 404, path
    assert (await client.get(f"{TIPS}/{trafficking}/attachments/1", headers=health)).status == 404
    assert ("officer:mai", "view_notified") in await audit_actions(services, trafficking)

    # The page: read-only, and listed on the health officer's queue page.
    page = await client.get(f"/staff/tips/{trafficking}", headers={"Cookie": health["Cookie"]})
    html = await page.text()
    assert page.status == 200 and "Mua bán người" in html
    assert "/transition" not in html and "/reply" not in html and 'name="csrf_token" value' in html
    queue_page = await (await client.get("/staff/", headers={"Cookie": health["Cookie"]})).text()
    assert f'href="/staff/tips/{trafficking}"' in queue_page and f'href="/staff/tips/{venue}"' not in queue_page


async def test_classifying_into_minor_notifies_health(client: Any, services: Services) -> None:
    tip_id = (await submit(services.intake, commune_code=COMMUNE)).tip_id
    police = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    health = await add_staff(services, "mai", f"health:{PROVINCE}", PROVINCE)
    assert (await client.get(f"{TIPS}/{tip_id}", headers=health)).status == 404
    for move in ({"to": "verified"}, {"to": "classified", "category": "minor"}):
        assert (await client.post(f"{TIPS}/{tip_id}/transitions", json=move, headers=police)).status == 200
    assert (await client.get(f"{TIPS}/{tip_id}", headers=health)).status == 200
    # Other agencies' officers are not notified.
    other = await add_staff(services, "tam", f"police:{REMOTE_COMMUNE}", REMOTE_COMMUNE)
    assert (await client.get(f"{TIPS}/{tip_id}", headers=other)).status == 404
    assert (await (await client.get("/api/v1/staff/notifications", headers=other)).json())["items"] == []


async def test_a_complaint_goes_to_the_supervisors_of_the_agency_complained_about(
    client: Any, services: Services
) -> None:
    tip_id = (await submit(services.intake, text="Công an phường nhận tiền", commune_code=COMMUNE)).tip_id
    admin = await add_staff(services, "admin", f"police:{PROVINCE}", PROVINCE, Role.ADMIN)
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    ward_chief = await add_staff(services, "hung", f"police:{COMMUNE}", COMMUNE, Role.SUPERVISOR)
    province_chief = await add_staff(services, "son", f"police:{PROVINCE}", PROVINCE, Role.SUPERVISOR)
    health = await add_staff(services, "mai", f"health:{PROVINCE}", PROVINCE, Role.SUPERVISOR)
    assert (await client.get(f"{TIPS}/{tip_id}", headers=officer)).status == 200  # a venue tip so far

    await client.post(f"{TIPS}/{tip_id}/transitions", json={"to": "verified"}, headers=admin)
    bad = {"to": "classified", "category": "complaint", "to_agency": "police:99999"}
    assert (await client.post(f"{TIPS}/{tip_id}/transitions", json=bad, headers=admin)).status == 422
    move = {"to": "classified", "category": "complaint", "to_agency": f"police:{COMMUNE}"}
    resp = await client.post(f"{TIPS}/{tip_id}/transitions", json=move, headers=admin)
    assert resp.status == 200 and (await resp.json())["agency_code"] == f"police:{COMMUNE}"

    assert (await client.get(f"{TIPS}/{tip_id}", headers=officer)).status == 404
    listed = await (await client.get(f"{TIPS}?closed=true", headers=officer)).json()
    assert tip_id not in [i["id"] for i in listed["items"]]
    for chief in (ward_chief, province_chief):
        assert (await client.get(f"{TIPS}/{tip_id}", headers=chief)).status == 200
    assert (await client.get(f"{TIPS}/{tip_id}", headers=health)).status == 404


async def test_misconduct_cannot_be_classified_into_a_named_unit(client: Any, services: Services) -> None:
    tip_id = (await submit(services.intake, commune_code=COMMUNE)).tip_id
    admin = await add_staff(services, "admin", f"police:{PROVINCE}", PROVINCE, Role.ADMIN)
    await client.post(f"{TIPS}/{tip_id}/transitions", json={"to": "verified"}, headers=admin)
    move = {"to": "classified", "category": "official_misconduct", "to_agency": f"police:{COMMUNE}"}
    assert (await client.post(f"{TIPS}/{tip_id}/transitions", json=move, headers=admin)).status == 422
    move["to_agency"] = f"inspectorate:{PROVINCE}"
    assert (await client.post(f"{TIPS}/{tip_id}/transitions", json=move, headers=admin)).status == 200


def test_complaints_need_a_supervisor_in_plain_python() -> None:
    officer = Jurisdiction(agency_code=f"police:{COMMUNE}")
    chief = Jurisdiction(agency_kind="police", area_code=COMMUNE, complaints=True)
    for within, seen in ((officer, False), (chief, True)):
        assert (
            within.allows(agency_code=f"police:{COMMUNE}", category=Category.COMPLAINT, province_code=PROVINCE)
            is seen
        )
