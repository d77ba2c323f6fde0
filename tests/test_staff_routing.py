"""The routing policy table: seeded with the shipped defaults, changed by administrators
only (audited), applied to new tips, and never able to hand misconduct to a unit."""

from __future__ import annotations

from typing import Any

import pytest

from core.categories import Category
from core.errors import InvalidInput
from core.officers import Role
from core.routing import DEFAULT_ROUTING, OWNER_BY_CATEGORY, AgencyKind, check_route
from handlers.keys import SERVICES
from hotline.bootstrap import Services
from tests.builders import submit
from tests.conftest import COMMUNE, PROVINCE, add_staff

ROUTING = "/api/v1/staff/routing"


def test_defaults_and_the_misconduct_rule() -> None:
    assert DEFAULT_ROUTING.owner(Category.VENUE, PROVINCE, COMMUNE) == f"police:{COMMUNE}"
    assert DEFAULT_ROUTING.owner(Category.VENUE, PROVINCE, None) == f"police:{PROVINCE}"
    assert DEFAULT_ROUTING.owner(Category.INFO_REQUEST, PROVINCE, COMMUNE) == f"health:{PROVINCE}"
    assert (
        DEFAULT_ROUTING.owner(Category.OFFICIAL_MISCONDUCT, PROVINCE, COMMUNE) == f"inspectorate:{PROVINCE}"
    )
    for kind in AgencyKind:
        if kind is AgencyKind.INSPECTORATE:
            check_route(Category.OFFICIAL_MISCONDUCT, kind)
        else:
            with pytest.raises(InvalidInput):
                check_route(Category.OFFICIAL_MISCONDUCT, kind)


async def test_admins_edit_the_table_and_new_tips_follow_it(client: Any, services: Services) -> None:
    officer = await add_staff(services, "lan", f"police:{COMMUNE}", COMMUNE)
    admin = await add_staff(services, "admin", f"police:{PROVINCE}", PROVINCE, Role.ADMIN)
    table = await (await client.get(ROUTING, headers=officer)).json()
    assert {r["category"]: r["agency_kind"] for r in table["rules"]} == {
        c.value: k.value for c, k in OWNER_BY_CATEGORY.items()
    }
    path = f"{ROUTING}/street"
    resp = await client.put(path, json={"agency_kind": "commune"}, headers=officer)
    assert resp.status == 403
    assert (
        await client.put(path, json={"agency_kind": "commune"}, headers={"Cookie": admin["Cookie"]})
    ).status == 403
    resp = await client.put(f"{ROUTING}/official_misconduct", json={"agency_kind": "police"}, headers=admin)
    assert resp.status == 422
    assert (
        await client.put(f"{ROUTING}/gossip", json={"agency_kind": "police"}, headers=admin)
    ).status == 404
    assert (await client.put(path, json={"agency_kind": "army"}, headers=admin)).status == 422

    before = (await submit(services.intake, category=Category.STREET, commune_code=COMMUNE)).tip_id
    resp = await client.put(path, json={"agency_kind": "commune"}, headers=admin)
    assert resp.status == 200
    assert {"category": "street", "agency_kind": "commune"} in (await resp.json())["rules"]
    # The worker that served the change follows it at once.
    here = client.app[SERVICES].intake
    after = (await submit(here, category=Category.STREET, commune_code=COMMUNE)).tip_id
    # Another worker (the `services` fixture is a second one on the same database) keeps
    # its cached table until the cache's time is up (a minute), then follows too.
    elsewhere = (await submit(services.intake, category=Category.STREET, commune_code=COMMUNE)).tip_id
    services.tips.reference.ttl = 0
    later = (await submit(services.intake, category=Category.STREET, commune_code=COMMUNE)).tip_id
    owners = [
        (await services.tips.view(t, "officer:test"))[0].agency_code
        for t in (before, after, elsewhere, later)
    ]
    assert owners == [
        f"police:{COMMUNE}",  # filed tips keep their owner
        f"commune:{COMMUNE}",
        f"police:{COMMUNE}",
        f"commune:{COMMUNE}",
    ]
    log = await (await client.get("/api/v1/staff/audit", headers=admin)).json()
    assert [(e["actor"], e["detail"]) for e in log["items"] if e["action"] == "routing"] == [
        ("officer:admin", "street=commune")
    ]
