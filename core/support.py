"""Support for people who ask for help for themselves: anonymous cases, needs, referrals
to service providers and their outcomes; training records and offline outreach.

A case is counted by case and by kind of help, never by identity. A way to reach the person
is optional, sealed by a `Sealer` (envelope encryption) and erased when the case closes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from core.errors import InvalidInput

DATA = Path(__file__).parent / "data" / "support.json"
#: A message or a note is at most this long (characters).
MAX_TEXT = 4000
MAX_CONTACT = 120


class State(StrEnum):
    RECEIVED = "received"
    ASSESSED = "assessed"  # needs assessed
    REFERRED = "referred"
    SERVICE_RECEIVED = "service_received"
    DECLINED = "declined"
    UNREACHABLE = "unreachable"
    CLOSED = "closed"


#: Which step may follow which; every step is recorded with its time and actor.
TRANSITIONS: Mapping[State, frozenset[State]] = {
    State.RECEIVED: frozenset({State.ASSESSED, State.DECLINED, State.UNREACHABLE, State.CLOSED}),
    State.ASSESSED: frozenset({State.REFERRED, State.DECLINED, State.UNREACHABLE, State.CLOSED}),
    State.REFERRED: frozenset({State.SERVICE_RECEIVED, State.DECLINED, State.UNREACHABLE, State.CLOSED}),
    State.SERVICE_RECEIVED: frozenset({State.CLOSED, State.REFERRED}),
    State.DECLINED: frozenset({State.CLOSED, State.ASSESSED}),
    State.UNREACHABLE: frozenset({State.CLOSED, State.ASSESSED}),
    State.CLOSED: frozenset(),
}
#: A case in one of these had its need assessed (the indicator's denominator).
ASSESSED_STATES = frozenset(
    {State.ASSESSED, State.REFERRED, State.SERVICE_RECEIVED, State.DECLINED, State.UNREACHABLE}
)


class ReferralOutcome(StrEnum):
    RECEIVED = "received"
    DECLINED = "declined"
    UNREACHABLE = "unreachable"


class Level(StrEnum):
    PROVINCE = "province"
    COMMUNE = "commune"


@dataclass(frozen=True)
class Kind:
    code: str
    vi: str
    en: str


@dataclass(frozen=True)
class Content:
    """The reviewed wording and the kinds of help, read from core/data/support.json."""

    kinds: tuple[Kind, ...]
    wording: Mapping[str, Mapping[str, str]]  # lang -> key -> text
    #: Working days to the first contact, to the assessment and to a referral's outcome.
    deadlines: Mapping[str, int]

    def kind_codes(self) -> frozenset[str]:
        return frozenset(k.code for k in self.kinds)

    def kind_label(self, code: str, lang: str = "vi") -> str:
        for k in self.kinds:
            if k.code == code:
                return k.vi if lang == "vi" else k.en
        return code

    def text(self, key: str, lang: str = "vi") -> str:
        return self.wording.get(lang, self.wording["vi"]).get(key, self.wording["vi"][key])


@cache
def content(path: Path = DATA) -> Content:
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    kinds = tuple(Kind(k["code"], k["vi"], k["en"]) for k in raw["kinds"])
    return Content(kinds, raw["wording"], {k: int(v) for k, v in raw["deadlines"].items()})


def check_kinds(codes: Sequence[str], known: frozenset[str]) -> tuple[str, ...]:
    """The chosen kinds of help, deduplicated and in a stable order; at least one."""
    chosen = tuple(sorted({c.strip() for c in codes if c.strip()}))
    if not chosen:
        raise InvalidInput("choose at least one kind of help")
    unknown = [c for c in chosen if c not in known]
    if unknown:
        raise InvalidInput(f"unknown kind of help {unknown[0]!r}")
    return chosen


def check_text(text: str, what: str = "message", limit: int = MAX_TEXT) -> str:
    cleaned = text.replace("\x00", "").strip()
    if len(cleaned) > limit:
        raise InvalidInput(f"the {what} is longer than {limit} characters")
    return cleaned


def check_contact(text: str | None) -> str | None:
    if text is None:
        return None
    cleaned = " ".join(text.replace("\x00", "").split())
    if not cleaned:
        return None
    if len(cleaned) > MAX_CONTACT:
        raise InvalidInput(f"a way to reach you is at most {MAX_CONTACT} characters")
    return cleaned


def check_move(current: State, target: State) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidInput(f"a case that is {current.value} cannot become {target.value}")


class Sealer(Protocol):
    """Envelope encryption of a contact or a message: only the sealed bytes are stored."""

    def seal(self, plaintext: bytes, context: bytes) -> bytes: ...

    def open(self, sealed: bytes, context: bytes) -> bytes: ...


@dataclass(frozen=True)
class SupportCase:
    id: int
    receipt_code: str
    commune_code: str | None
    province_code: str
    kinds: tuple[str, ...]
    state: State
    received_at: datetime
    first_contact_due: datetime
    first_contact_at: datetime | None
    closed_at: datetime | None
    has_contact: bool


@dataclass(frozen=True)
class Message:
    at: datetime
    author: str  # "person" or "staff"
    body: str


@dataclass(frozen=True)
class Provider:
    id: int
    name: str
    kinds: tuple[str, ...]
    communes: tuple[str, ...]
    contact: str
    free: bool


@dataclass(frozen=True)
class Referral:
    id: int
    case_id: int
    provider_id: int
    provider_name: str
    kinds: tuple[str, ...]
    at: datetime
    outcome: ReferralOutcome | None
    outcome_at: datetime | None


@dataclass(frozen=True)
class CaseEvent:
    at: datetime
    actor: str
    action: str
    detail: str


@dataclass(frozen=True)
class CasePage:
    case: SupportCase
    messages: Sequence[Message]
    referrals: Sequence[Referral]
    events: Sequence[CaseEvent]


@dataclass(frozen=True)
class TrainingSession:
    held_on: date
    level: Level
    agency_code: str
    topic: str
    #: agency code -> participants trained from that agency
    participants: Mapping[str, int]


@dataclass(frozen=True)
class Activity:
    held_on: date
    commune_code: str
    kind: str
    audience: str
    reached: int


ACTIVITY_KINDS = ("meeting", "poster", "school_talk", "other")


@dataclass(frozen=True)
class TrainingRecord:
    id: int
    session: TrainingSession


@dataclass(frozen=True)
class ActivityRecord:
    id: int
    activity: Activity


@dataclass(frozen=True)
class StaffCount:
    agency_code: str
    level: Level
    staff: int


def agency_in_area(agency: str, area: str | None) -> bool:
    """A commune's agencies end with ':<commune code>'; no area (the province) allows any."""
    return area is None or agency.endswith(f":{area}")


def check_in_area(agencies: Sequence[str], area: str | None) -> None:
    outside = [a for a in agencies if not agency_in_area(a, area)]
    if outside:
        raise InvalidInput(f"the agency {outside[0]!r} is not of your commune")


def _printable(*texts: str) -> None:
    """No NUL or other control character: PostgreSQL cannot store NUL, and none belongs here."""
    if any(ch < " " for text in texts for ch in text):
        raise InvalidInput("text with control characters")


def check_training(session: TrainingSession) -> TrainingSession:
    _printable(session.topic, session.agency_code, *session.participants)
    if not session.topic.strip() or len(session.topic) > 300:
        raise InvalidInput("a training session needs a topic of at most 300 characters")
    if not session.participants:
        raise InvalidInput("a training session needs the number of participants per agency")
    if any(n < 0 or n > 100_000 for n in session.participants.values()):
        raise InvalidInput("participants must be between 0 and 100000")
    if any(not a.strip() or len(a) > 40 for a in (session.agency_code, *session.participants)):
        raise InvalidInput("an agency code is 1 to 40 characters")
    return session


def check_activity(activity: Activity) -> Activity:
    _printable(activity.audience, activity.commune_code)
    if activity.kind not in ACTIVITY_KINDS:
        raise InvalidInput(f"an activity is one of {', '.join(ACTIVITY_KINDS)}")
    if not 0 <= activity.reached <= 10_000_000:
        raise InvalidInput("the number reached must be between 0 and 10000000")
    if not activity.audience.strip() or len(activity.audience) > 60:
        raise InvalidInput("an audience is 1 to 60 characters")
    return activity
