"""The register of service businesses easily exploited for prostitution (karaoke, massage,
guesthouses...), their inspections, and hotspots with their lifecycle.

Plain rules only: how names are matched as people type them, what a register row must
hold, who may see which establishment, when one is due for inspection, and how a hotspot
moves from detected to eliminated, is watched, and returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cached_property, lru_cache

from core.errors import IllegalTransition, InvalidInput
from core.text import fold
from core.triage.normalise import abbreviations, tokenize

#: An establishment not inspected for this long is due (the plans ask for once a year).
DUE_AFTER = timedelta(days=365)
#: Tips about one establishment within this window that put it on the "needs inspection" list...
RECENT_TIPS_WINDOW = timedelta(days=90)
#: ...and how many of them it takes.
RECENT_TIPS_NEEDED = 2
#: An eliminated hotspot is watched this long; a tip about it then (or later) is a return.
WATCH_FOR = timedelta(days=365)
MAX_NAME = 200
_COMMUNE = re.compile(r"\d{5}")
MAX_ADDRESS = 300
MAX_LICENCE = 60
MAX_NOTES = 4000
MAX_FINE_VND = 10_000_000_000


class Kind(StrEnum):
    KARAOKE = "karaoke"
    MASSAGE = "massage"
    GUESTHOUSE = "guesthouse"
    HOTEL = "hotel"
    BOARDING_HOUSE = "boarding_house"
    HOMESTAY = "homestay"
    BAR = "bar"  # bars and dance halls
    OTHER = "other"


class Status(StrEnum):
    LISTED = "listed"
    MANAGED = "managed"
    CLOSED = "closed"


class Outcome(StrEnum):
    NO_VIOLATION = "no_violation"
    VIOLATION = "violation"
    CLOSED = "closed"


class HotspotKind(StrEnum):
    STREET = "street"
    PARK = "park"
    ROAD = "road"
    ONLINE_GROUP = "online_group"
    ESTABLISHMENT = "establishment"
    OTHER = "other"


class HotspotState(StrEnum):
    DETECTED = "detected"
    DEALING = "dealing"  # being dealt with
    ELIMINATED = "eliminated"  # shown as "watched" for WATCH_FOR after the elimination
    RETURNED = "returned"


#: Words people use for each kind (folded, abbreviations expanded), for imports and matching.
KIND_WORDS: dict[Kind, tuple[str, ...]] = {
    Kind.KARAOKE: ("karaoke",),
    Kind.MASSAGE: ("massage", "mat xa", "xong hoi"),
    Kind.GUESTHOUSE: ("nha nghi",),
    Kind.HOTEL: ("khach san", "hotel"),
    Kind.BOARDING_HOUSE: ("nha tro", "phong tro", "boarding house"),
    Kind.HOMESTAY: ("homestay",),
    Kind.BAR: ("bar", "quan bar", "vu truong", "dance hall", "beer club"),
    Kind.OTHER: ("khac", "other"),
}


#: Abbreviations of triage's table that occur in names and addresses. Its teen-code
#: (`hong` = không, `k` = không...) is left out: `Hoa Hồng` is a name.
NAME_ABBREVIATIONS = frozenset("ks nn kara karaok matxa masage mass cty tp q p tx".split())


def match_key(text: str) -> str:
    """`KS Hoa Hồng` and `khach san hoa hong` alike: folded (any case, no diacritics),
    punctuation dropped, name abbreviations expanded with triage's table (`ks`, `nn`...)."""
    table = abbreviations()
    out: list[str] = []
    for token in tokenize(fold(text[:1000])):
        out.extend(table[token] if token in NAME_ABBREVIATIONS and token in table else (token,))
    return " ".join(out)


@lru_cache(maxsize=1024)
def kind_of(text: str) -> Kind:
    """A kind from its code or the words people write for it; InvalidInput otherwise."""
    raw = text.strip()
    if raw in Kind.__members__.values():
        return Kind(raw)
    key = match_key(raw).replace(" ", "_")
    for kind in Kind:
        if key == kind.value or key in (w.replace(" ", "_") for w in KIND_WORDS[kind]):
            return kind
    raise InvalidInput(f"unknown kind {raw!r}")


@lru_cache(maxsize=256)
def status_of(text: str) -> Status:
    raw = fold(text.strip()).replace(" ", "_")
    aliases = {
        "": Status.LISTED,
        "under_management": Status.MANAGED,
        "dang_quan_ly": Status.MANAGED,
        "da_lap_danh_sach": Status.LISTED,
        "da_dong_cua": Status.CLOSED,
    }
    if raw in aliases:
        return aliases[raw]
    try:
        return Status(raw)
    except ValueError:
        raise InvalidInput(f"unknown status {text.strip()!r}") from None


@dataclass(frozen=True)
class Scope:
    """Which establishments and hotspots an officer sees: everything (admins), a province
    (officers and supervisors of a provincial unit), or one commune."""

    everything: bool = False
    province_code: str | None = None
    commune_code: str | None = None

    def allows(self, commune_code: str, province_code: str) -> bool:
        if self.everything:
            return True
        if self.province_code is not None and province_code != self.province_code:
            return False
        return self.commune_code is None or commune_code == self.commune_code

    def narrowed(self, commune_code: str | None) -> Scope:
        """A commune filter within this scope: it never widens what the officer sees."""
        if not commune_code or commune_code == self.commune_code:
            return self
        if self.commune_code is not None:
            return NOTHING  # another commune than the officer's own
        return Scope(province_code=self.province_code, commune_code=commune_code)


#: A scope that allows no establishment (no commune has an empty code).
NOTHING = Scope(province_code="", commune_code="")


def scope_of(*, admin: bool, area_code: str) -> Scope:
    """Admins see everything; an officer of a province-level unit (two-digit area code) the
    province; anyone else their commune or ward (five digits)."""
    if admin:
        return Scope(everything=True)
    if len(area_code) == 2:
        return Scope(province_code=area_code)
    return Scope(commune_code=area_code)


@dataclass(frozen=True)
class EstablishmentDraft:
    """What an officer or an import row gives; checked by `checked`."""

    name: str
    kind: Kind
    address: str
    commune_code: str
    licence: str | None = None
    status: Status = Status.LISTED
    commitment_date: date | None = None

    def checked(self) -> EstablishmentDraft:
        name = " ".join(self.name.split())
        address = " ".join(self.address.split())
        licence = " ".join((self.licence or "").split()) or None
        if not name:
            raise InvalidInput("the name is empty")
        if len(name) > MAX_NAME or len(address) > MAX_ADDRESS or len(licence or "") > MAX_LICENCE:
            raise InvalidInput("the name, address or licence is too long")
        if not _COMMUNE.fullmatch(self.commune_code):
            raise InvalidInput(f"unknown commune {self.commune_code!r}")
        if any(ch in name + address + (licence or "") for ch in "\x00\r\n"):
            raise InvalidInput("control characters are not allowed")
        return EstablishmentDraft(
            name, self.kind, address, self.commune_code, licence, self.status, self.commitment_date
        )

    @cached_property
    def identity(self) -> tuple[str, str, str]:
        """Two rows naming the same place the same way (in any spelling) are one establishment."""
        return (self.commune_code, match_key(self.name), match_key(self.address))


@dataclass(frozen=True)
class Establishment:
    id: int
    name: str
    kind: Kind
    address: str
    commune_code: str
    province_code: str
    licence: str | None
    status: Status
    commitment_date: date | None
    created_at: datetime
    last_inspected: date | None = None
    recent_tips: int = 0

    def due(self, today: date) -> bool:
        """Not closed and not inspected in the last 12 months."""
        return self.status is not Status.CLOSED and (
            self.last_inspected is None or self.last_inspected <= today - DUE_AFTER
        )


@dataclass(frozen=True)
class InspectionDraft:
    on: date
    outcome: Outcome
    team: str = ""
    violation: str | None = None
    fine_vnd: int | None = None
    notes: str = ""

    def checked(self, today: date) -> InspectionDraft:
        if self.on > today:
            raise InvalidInput("an inspection cannot be dated in the future")
        if self.outcome is not Outcome.VIOLATION and (self.violation or self.fine_vnd):
            raise InvalidInput("a violation or a fine needs the outcome 'violation'")
        if self.fine_vnd is not None and not 0 <= self.fine_vnd <= MAX_FINE_VND:
            raise InvalidInput("the fine is out of range")
        if len(self.team) > 300 or len(self.violation or "") > 300 or len(self.notes) > MAX_NOTES:
            raise InvalidInput("a field is too long")
        return self


@dataclass(frozen=True)
class Inspection:
    id: int
    establishment_id: int
    on: date
    outcome: Outcome
    team: str
    violation: str | None
    fine_vnd: int | None
    notes: str
    by: str
    at: datetime


@dataclass(frozen=True)
class LinkedTip:
    tip_id: int
    received_at: datetime
    category: str | None
    linked_by: str
    linked_at: datetime


def needs_inspection(tip_times: list[datetime], now: datetime) -> bool:
    """Two or more tips about it received within the last 90 days."""
    return sum(1 for t in tip_times if t > now - RECENT_TIPS_WINDOW) >= RECENT_TIPS_NEEDED


# --- hotspots ---------------------------------------------------------------------------

#: The moves an officer makes; a return is made by a tip (or recorded by hand).
MOVES: dict[str, tuple[tuple[HotspotState, ...], HotspotState]] = {
    "deal": ((HotspotState.DETECTED, HotspotState.RETURNED), HotspotState.DEALING),
    "eliminate": ((HotspotState.DEALING,), HotspotState.ELIMINATED),
    "return": ((HotspotState.ELIMINATED,), HotspotState.RETURNED),
}


def next_state(current: HotspotState, move: str) -> HotspotState:
    if move not in MOVES:
        raise InvalidInput(f"unknown move {move!r}")
    allowed, target = MOVES[move]
    if current not in allowed:
        raise IllegalTransition(f"a hotspot that is {current.value} cannot be moved by {move!r}")
    return target


@dataclass(frozen=True)
class HotspotDraft:
    name: str
    kind: HotspotKind
    commune_code: str
    description: str = ""
    establishment_id: int | None = None

    def checked(self) -> HotspotDraft:
        name = " ".join(self.name.split())
        if not name or len(name) > MAX_NAME or len(self.description) > MAX_NOTES:
            raise InvalidInput("the hotspot needs a name (up to 200 characters)")
        if not re.fullmatch(r"\d{5}", self.commune_code):
            raise InvalidInput(f"unknown commune {self.commune_code!r}")
        description = self.description.strip()
        return HotspotDraft(name, self.kind, self.commune_code, description, self.establishment_id)


@dataclass(frozen=True)
class Hotspot:
    id: int
    name: str
    kind: HotspotKind
    commune_code: str
    province_code: str
    description: str
    establishment_id: int | None
    state: HotspotState
    detected_at: datetime
    eliminated_at: datetime | None
    returns: int

    def shown_state(self, now: datetime) -> str:
        """`watched` for the twelve months after an elimination, `eliminated` after that."""
        if self.state is HotspotState.ELIMINATED and self.eliminated_at is not None:
            return "watched" if now < self.eliminated_at + WATCH_FOR else "eliminated"
        return self.state.value


@dataclass(frozen=True)
class HotspotEvent:
    at: datetime
    from_state: str | None
    to_state: str
    actor: str
    tip_id: int | None
    note: str


@dataclass(frozen=True)
class CommuneCount:
    commune_code: str
    commune_name: str
    open: int
    eliminated: int
    returned: int
