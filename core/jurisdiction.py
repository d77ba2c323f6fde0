"""Which tips an officer may see and act on.

The rule is computed here from the officer, in plain Python, and applied by storage as SQL
conditions on every query, so a page or handler cannot forget it. `allows` is the same rule
for one tip, used by unit tests and to check the SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.categories import Category
from core.officers import Officer, Role
from core.routing import SUPERVISORS_ONLY, AgencyKind


@dataclass(frozen=True)
class Jurisdiction:
    """`everything` for admins; otherwise one unit (`agency_code`) or, for supervisors,
    every unit of `agency_kind` within `area_code` (the whole province when
    `province_wide`). Tips referred to a unit are owned by it, so they are included."""

    everything: bool = False
    agency_code: str | None = None
    agency_kind: str | None = None
    area_code: str | None = None
    province_wide: bool = False
    #: Only the inspectorate (and admins) may see `official_misconduct`: the unit a tip
    #: names must never read it, and any other unit might be that unit.
    misconduct: bool = False
    #: Complaints about an agency are read by its supervisors (and the inspectorate), not
    #: by officers, who may be the ones complained about.
    complaints: bool = False

    def allows(self, *, agency_code: str, category: Category | None, province_code: str) -> bool:
        if self.everything:
            return True
        if category is Category.OFFICIAL_MISCONDUCT and not self.misconduct:
            return False
        if category in SUPERVISORS_ONLY and not self.complaints:
            return False
        if self.agency_code is not None:
            return agency_code == self.agency_code
        kind, _, area = agency_code.partition(":")
        if kind != self.agency_kind:
            return False
        return province_code == self.area_code if self.province_wide else area == self.area_code


EVERYTHING = Jurisdiction(everything=True, misconduct=True, complaints=True)


def jurisdiction_of(officer: Officer, *, area_is_province: bool) -> Jurisdiction:
    """Admins see everything; supervisors their agency's kind across their area; officers
    the tips their own unit owns (a provincial unit's tips span the province)."""
    if officer.role is Role.ADMIN:
        return EVERYTHING
    kind = officer.agency_code.partition(":")[0]
    misconduct = kind == AgencyKind.INSPECTORATE.value
    if officer.role is Role.SUPERVISOR:
        return Jurisdiction(
            agency_kind=kind,
            area_code=officer.area_code,
            province_wide=area_is_province,
            misconduct=misconduct,
            complaints=True,
        )
    return Jurisdiction(agency_code=officer.agency_code, misconduct=misconduct, complaints=misconduct)
