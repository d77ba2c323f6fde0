"""Which agency owns a tip when it arrives.

Agency codes are `<kind>:<area code>`: `police:79` is the provincial police of province 79,
`police:26734` the police of commune/ward 26734. Health and the inspectorate work at
province level only. The staff workspace issue turns this into an editable policy table;
these are its shipped defaults.
"""

from __future__ import annotations

from enum import StrEnum

from core.categories import Category


class AgencyKind(StrEnum):
    POLICE = "police"
    HEALTH = "health"
    COMMUNE = "commune"
    INSPECTORATE = "inspectorate"


#: Agency kinds that have a unit in every commune/ward as well as at the province.
COMMUNE_LEVEL_KINDS: frozenset[AgencyKind] = frozenset({AgencyKind.POLICE, AgencyKind.COMMUNE})

OWNER_BY_CATEGORY: dict[Category, AgencyKind] = {
    Category.VENUE: AgencyKind.POLICE,
    Category.STREET: AgencyKind.POLICE,
    Category.ONLINE: AgencyKind.POLICE,
    Category.OBSCENE_MATERIAL: AgencyKind.POLICE,
    Category.TRAFFICKING: AgencyKind.POLICE,
    Category.MINOR: AgencyKind.POLICE,
    Category.INFO_REQUEST: AgencyKind.HEALTH,
    # Never the unit named in the tip: the inspectorate sits above all of them.
    Category.OFFICIAL_MISCONDUCT: AgencyKind.INSPECTORATE,
    Category.COMPLAINT: AgencyKind.INSPECTORATE,
    Category.SPAM: AgencyKind.POLICE,
}


def agency_code(kind: AgencyKind, area_code: str) -> str:
    return f"{kind.value}:{area_code}"


def owner_agency(category: Category | None, province_code: str, commune_code: str | None) -> str:
    """Owning agency: by category, at commune level where that kind has commune units."""
    kind = OWNER_BY_CATEGORY.get(category, AgencyKind.POLICE) if category else AgencyKind.POLICE
    if commune_code and kind in COMMUNE_LEVEL_KINDS:
        return agency_code(kind, commune_code)
    return agency_code(kind, province_code)
