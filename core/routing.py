"""Which agency owns a tip when it arrives.

Agency codes are `<kind>:<area code>`: `police:79` is the provincial police of province 79,
`police:26734` the police of commune/ward 26734. Health and the inspectorate work at
province level only. The staff workspace issue turns this into an editable policy table;
these are its shipped defaults (`routing_rules` in the database holds the table in force).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from core.categories import Category
from core.errors import InvalidInput


class AgencyKind(StrEnum):
    POLICE = "police"
    HEALTH = "health"
    COMMUNE = "commune"
    INSPECTORATE = "inspectorate"


#: Agency kinds that have a unit in every commune/ward as well as at the province.
COMMUNE_LEVEL_KINDS: frozenset[AgencyKind] = frozenset({AgencyKind.POLICE, AgencyKind.COMMUNE})
#: Agency kinds with a unit at the province. A commune's people's committee has none: a tip
#: routed to it that names no commune goes to the provincial police instead.
PROVINCE_LEVEL_KINDS: frozenset[AgencyKind] = frozenset(
    {AgencyKind.POLICE, AgencyKind.HEALTH, AgencyKind.INSPECTORATE}
)

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


#: Agencies told of a tip they do not own: the Department of Health learns of trafficking
#: and minor tips so that victims get support (it reads them; the owner acts on them).
NOTIFIED_BY_CATEGORY: dict[Category, tuple[AgencyKind, ...]] = {
    Category.TRAFFICKING: (AgencyKind.HEALTH,),
    Category.MINOR: (AgencyKind.HEALTH,),
}

#: A complaint is about an agency; only its supervisors (and the inspectorate above all
#: agencies) read it, never the officers who may be the ones complained about.
SUPERVISORS_ONLY: frozenset[Category] = frozenset({Category.COMPLAINT})


def notified_agencies(category: Category | None, province_code: str) -> list[str]:
    """Units to notify of a tip of `category` (health and the inspectorate work at the
    province level only)."""
    if category is None:
        return []
    return [agency_code(kind, province_code) for kind in NOTIFIED_BY_CATEGORY.get(category, ())]


def agency_code(kind: AgencyKind, area_code: str) -> str:
    return f"{kind.value}:{area_code}"


@dataclass(frozen=True)
class RoutingPolicy:
    """The owning agency kind per category: rows of `routing_rules`, which administrators
    edit; `OWNER_BY_CATEGORY` is what a new deployment starts with."""

    owners: Mapping[Category, AgencyKind]

    def owner(self, category: Category | None, province_code: str, commune_code: str | None) -> str:
        """Owning agency: by category, at commune level where that kind has commune units;
        only units that exist (a kind without a provincial unit falls back to the police)."""
        kind = self.owners.get(category, AgencyKind.POLICE) if category else AgencyKind.POLICE
        if commune_code and kind in COMMUNE_LEVEL_KINDS:
            return agency_code(kind, commune_code)
        if kind not in PROVINCE_LEVEL_KINDS:
            kind = AgencyKind.POLICE
        return agency_code(kind, province_code)


DEFAULT_ROUTING = RoutingPolicy(OWNER_BY_CATEGORY)


def check_route(category: Category, kind: AgencyKind) -> None:
    """Refuse a rule that would hand misconduct to a unit it may name."""
    if category is Category.OFFICIAL_MISCONDUCT and kind is not AgencyKind.INSPECTORATE:
        raise InvalidInput("official misconduct can only be routed to the inspectorate")


def owner_agency(
    category: Category | None,
    province_code: str,
    commune_code: str | None,
    policy: RoutingPolicy = DEFAULT_ROUTING,
) -> str:
    return policy.owner(category, province_code, commune_code)
