"""What other staff pages show of the establishments register: the tip page's proposed
establishments and the KPI page's plan indicators. Kept apart from the register's routes
(handlers/staff_establishments.py) so those pages can import it without a cycle."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core.establishments import Kind, Scope, scope_of
from core.kpi import Period
from core.officers import Role
from core.staff import StaffContext
from core.tips import Tip
from handlers.keys import SERVICES


def staff_scope(staff: StaffContext) -> Scope:
    """The establishments and hotspots an officer sees: admins everything, an officer of a
    province-level unit the province, anyone else their commune or ward."""
    return scope_of(admin=staff.officer.role is Role.ADMIN, area_code=staff.officer.area_code)


def staff_area(staff: StaffContext) -> str | None:
    """The area an officer's indicators are counted for (None: the whole province)."""
    scope = staff_scope(staff)
    return scope.commune_code


async def tip_establishments(request: web.Request, staff: StaffContext, tip: Tip) -> dict[str, Any]:
    """The tip page's partial: establishments linked to the tip, those proposed from the
    venue names and place triage finds in it, and what the "create" form needs."""
    service = request.app[SERVICES].establishments
    scope = staff_scope(staff)
    linked, proposed = await service.proposals(tip, scope)
    communes = await service.communes(scope)
    return {
        "linked": linked,
        "proposed": proposed,
        "communes": communes,
        "commune_names": dict(communes),
        "kinds": list(Kind),
        "default_commune": tip.commune_code or (tip.triage or {}).get("commune_code") or "",
    }


async def kpi_indicators(request: web.Request, staff: StaffContext, period: Period) -> list[Any]:
    """The plan's indicators on the KPI page, for the officer's area."""
    return list(await request.app[SERVICES].establishments.indicators(period, staff_area(staff)))
