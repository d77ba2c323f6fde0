"""Jurisdiction scoping: the rule in plain Python, the same rule in SQL, and the HTTP
proof that another jurisdiction's tip is not found by id, by filter, by a write or by
the KPI."""

from __future__ import annotations

from typing import Any

import pytest

from core.categories import Category
from core.jurisdiction import EVERYTHING, Jurisdiction, jurisdiction_of
from core.officers import Officer, Role
from core.queue import QueueFilter
from hotline.bootstrap import Services
from tests.builders import submit
from tests.conftest import COMMUNE, PROVINCE, REMOTE_COMMUNE, add_staff

KPI = "/api/v1/staff/kpi?from=2026-03-01&to=2026-03-31"


def officer(agency: str, area: str, role: Role = Role.OFFICER) -> Officer:
    return Officer(1, "x", agency, area, role, "hash")


@pytest.mark.parametrize(
    ("who", "province_wide", "agency", "category", "allowed"),
    [
        (officer(f"police:{COMMUNE}", COMMUNE), False, f"police:{COMMUNE}", Category.VENUE, True),
        (officer(f"police:{COMMUNE}", COMMUNE), False, f"police:{REMOTE_COMMUNE}", Category.VENUE, False),
        (officer(f"police:{COMMUNE}", COMMUNE), False, f"police:{PROVINCE}", Category.VENUE, False),
        (officer(f"police:{PROVINCE}", PROVINCE), True, f"police:{PROVINCE}", None, True),
        (officer(f"police:{PROVINCE}", PROVINCE), True, f"police:{COMMUNE}", Category.VENUE, False),
        (officer(f"police:{PROVINCE}", PROVINCE, Role.SUPERVISOR), True, f"police:{COMMUNE}", None, True),
        (officer(f"police:{PROVINCE}", PROVINCE, Role.SUPERVISOR), True, f"health:{PROVINCE}", None, False),
        (
            officer(f"police:{COMMUNE}", COMMUNE, Role.SUPERVISOR),
            False,
            f"police:{REMOTE_COMMUNE}",
            None,
            False,
        ),
        # Misconduct: invisible even to a supervisor whose units would otherwise own it...
        (
            officer(f"police:{PROVINCE}", PROVINCE, Role.SUPERVISOR),
            True,
            f"police:{COMMUNE}",
            Category.OFFICIAL_MISCONDUCT,
            False,
        ),
        # ...visible to the inspectorate that owns it, and to admins.
        (
            officer(f"inspectorate:{PROVINCE}", PROVINCE),
            True,
            f"inspectorate:{PROVINCE}",
            Category.OFFICIAL_MISCONDUCT,
            True,
        ),
        (officer(f"police:{PROVINCE}", PROVINCE, Role.ADMIN), True, f"health:{PROVINCE}", None, True),
    ],
)
def test_jurisdiction_rule(
    who: Officer, province_wide: bool, agency: str, category: Category | None, allowed: bool
) -> None:
    rule = jurisdiction_of(who, area_is_province=province_wide)
    assert rule.allows(agency_code=agency, category=category, province_code=PROVINCE) is allowed


def test_a_malformed_jurisdiction_sees_nothing() -> None:
    assert not Jurisdiction().allows(agency_code=f"police:{PROVINCE}", category=None, province_code=PROVINCE)


async def seed(services: Services) -> dict[str, int]:
    """One tip per unit: two communes' police, the provincial police, the inspectorate."""
    return {
        "commune": (await submit(services.intake, category=Category.VENUE, commune_code=COMMUNE)).tip_id,
        "other_commune": (
            await submit(services.intake, category=Category.STREET, commune_code=REMOTE_COMMUNE)
        ).tip_id,
        "province": (await submit(services.intake, category=Category.ONLINE)).tip_id,
        "misconduct": (
            await submit(
                services.intake,
                text="Công an phường bảo kê quán karaoke",
                category=Category.OFFICIAL_MISCONDUCT,
                commune_code=COMMUNE,
            )
        ).tip_id,
    }


async def visible(client: Any, headers: dict[str, str]) -> set[int]:
    body = await (await client.get("/api/v1/staff/tips?closed=true", headers=headers)).json()
    return {item["id"] for item in body["items"]}


async def test_each_role_sees_its_jurisdiction_and_sql_agrees_with_the_rule(
    client: Any, services: Services
) -> None:
    tips = await seed(services)
    accounts = {
        "commune": (f"police:{COMMUNE}", COMMUNE, Role.OFFICER, {"commune"}),
        "provincial": (f"police:{PROVINCE}", PROVINCE, Role.OFFICER, {"province"}),
        "supervisor": (
            f"police:{PROVINCE}",
            PROVINCE,
            Role.SUPERVISOR,
            {"commune", "other_commune", "province"},
        ),
        "inspector": (f"inspectorate:{PROVINCE}", PROVINCE, Role.OFFICER, {"misconduct"}),
        "boss": (f"health:{PROVINCE}", PROVINCE, Role.ADMIN, set(tips)),
    }
    for name, (agency, area, role, expected) in accounts.items():
        headers = await add_staff(services, name, agency, area, role)
        assert await visible(client, headers) == {tips[k] for k in expected}, name
        for key, tip_id in tips.items():
            status = (await client.get(f"/api/v1/staff/tips/{tip_id}", headers=headers)).status
            assert status == (200 if key in expected else 404), (name, key)
    # The SQL and the plain-Python rule agree tip by tip.
    within = jurisdiction_of(officer(f"police:{PROVINCE}", PROVINCE, Role.SUPERVISOR), area_is_province=True)
    page = await services.tips.queue(within, QueueFilter(include_closed=True))
    everything = await services.tips.queue(EVERYTHING, QueueFilter(include_closed=True))
    assert {i.id for i in page.items} == {
        i.id
        for i in everything.items
        if within.allows(agency_code=i.agency_code, category=i.category, province_code=PROVINCE)
    }


async def test_another_jurisdictions_tip_is_not_found_by_any_route(client: Any, services: Services) -> None:
    tips = await seed(services)
    theirs = tips["other_commune"]
    headers = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    assert (await client.get(f"/api/v1/staff/tips/{theirs}", headers=headers)).status == 404
    writes = [
        (f"/api/v1/staff/tips/{theirs}/transitions", {"to": "verified"}),
        (f"/api/v1/staff/tips/{theirs}/extensions", {"reason": "complex"}),
        (f"/api/v1/staff/tips/{theirs}/replies", {"text": "xin chào"}),
        # ...nor can it be named as the original of a duplicate.
        (
            f"/api/v1/staff/tips/{tips['commune']}/transitions",
            {"to": "duplicate", "reason": "same", "duplicate_of": theirs},
        ),
    ]
    for path, body in writes[:3]:
        assert (await client.post(path, json=body, headers=headers)).status == 404, path
    path, body = writes[3]
    resp = await client.post(path, json=body, headers=headers)
    assert resp.status == 422  # the same answer as for an id that does not exist
    assert (await resp.json())["error"]["message"] == f"tip {theirs} does not exist"
    # By list filter: empty, not an error that would confirm anything.
    body = await (
        await client.get(f"/api/v1/staff/tips?commune={REMOTE_COMMUNE}&closed=true", headers=headers)
    ).json()
    assert body == {"items": [], "next": None}
    # By the KPI: their commune counts nothing, and the whole-province figure only ours.
    kpi = await (await client.get(f"{KPI}&commune={REMOTE_COMMUNE}", headers=headers)).json()
    assert kpi["totals"]["received"] == 0
    kpi = await (await client.get(KPI, headers=headers)).json()
    assert kpi["totals"]["received"] == 1
    # Nothing about the other tip changed.
    tip, history = await services.tips.view(theirs, "officer:test")
    assert tip.stage.value == "received" and tip.extensions == 0 and len(history) == 1


async def test_misconduct_never_reaches_the_unit_it_names(client: Any, services: Services) -> None:
    tips = await seed(services)
    commune = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    supervisor = await add_staff(services, "minh", f"police:{PROVINCE}", PROVINCE, Role.SUPERVISOR)
    for headers in (commune, supervisor):
        assert (await client.get(f"/api/v1/staff/tips/{tips['misconduct']}", headers=headers)).status == 404
    inspector = await add_staff(services, "hoa", f"inspectorate:{PROVINCE}", PROVINCE)
    resp = await client.post(
        f"/api/v1/staff/tips/{tips['misconduct']}/transitions",
        json={"to": "referred", "reason": "their area", "to_agency": f"police:{COMMUNE}"},
        headers=inspector,
    )
    assert resp.status == 422
    assert "inspectorate" in (await resp.json())["error"]["message"]
    # A tip the commune police class as misconduct leaves them at once.
    mine = tips["commune"]
    path = f"/api/v1/staff/tips/{mine}/transitions"
    assert (await client.post(path, json={"to": "verified"}, headers=commune)).status == 200
    resp = await client.post(
        path, json={"to": "classified", "category": "official_misconduct"}, headers=commune
    )
    assert resp.status == 200
    assert (await resp.json())["agency_code"] == f"inspectorate:{PROVINCE}"
    assert (await client.get(f"/api/v1/staff/tips/{mine}", headers=commune)).status == 404
    assert (await client.get(f"/api/v1/staff/tips/{mine}", headers=inspector)).status == 200


async def test_a_referred_tip_moves_to_the_receiving_unit(client: Any, services: Services) -> None:
    tips = await seed(services)
    provincial = await add_staff(services, "an", f"police:{PROVINCE}", PROVINCE)
    commune = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    tip_id = tips["province"]
    assert (await client.get(f"/api/v1/staff/tips/{tip_id}", headers=commune)).status == 404
    resp = await client.post(
        f"/api/v1/staff/tips/{tip_id}/transitions",
        json={"to": "referred", "reason": "the venue is in Bến Thành", "to_agency": f"police:{COMMUNE}"},
        headers=provincial,
    )
    assert resp.status == 200, await resp.text()
    assert tip_id in await visible(client, commune)
    assert (await client.get(f"/api/v1/staff/tips/{tip_id}", headers=provincial)).status == 404
