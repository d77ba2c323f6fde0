"""The tip as the domain sees it, independent of how it is stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.categories import Category, Channel
from core.stages import PROGRESS, TERMINAL, Stage


@dataclass(frozen=True)
class TipDraft:
    """What a reporter submits (already parsed and typed by the channel)."""

    text: str
    channel: Channel
    category: Category | None = None
    urgent: bool = False
    commune_code: str | None = None
    place: str | None = None
    occurred_at: datetime | None = None
    language: str | None = None


@dataclass(frozen=True)
class NewTip:
    """A tip ready to insert: the draft as it will be stored plus what intake decided."""

    draft: TipDraft
    receipt_code: str
    province_code: str
    remote: bool
    agency_code: str
    received_at: datetime
    due: dict[Stage, datetime]
    next_due_at: datetime | None
    at_risk_at: datetime | None
    policy_version: int
    passphrase_hash: str | None = None
    triage: dict[str, Any] | None = None


@dataclass(frozen=True)
class Tip:
    id: int
    receipt_code: str
    text: str
    channel: Channel
    category: Category | None
    urgent: bool
    language: str | None
    province_code: str
    commune_code: str | None
    remote: bool
    agency_code: str
    stage: Stage
    received_at: datetime
    reached: dict[Stage, datetime]
    due: dict[Stage, datetime]
    extensions: int
    policy_version: int
    version: int
    duplicate_of: int | None = None
    place: str | None = None
    #: What triage proposed on intake (language, category, urgency, place, duplicate-of,
    #: reasons); officers confirm or correct it and each decision is kept.
    triage: dict[str, Any] | None = None
    #: When the retention rules forgot the text, place, files and conversation (None: kept).
    forgotten_at: datetime | None = None

    @property
    def is_closed(self) -> bool:
        return self.stage in TERMINAL

    def reached_stages(self) -> tuple[Stage, ...]:
        return tuple(s for s in PROGRESS if s in self.reached)

    def next_due(self) -> datetime | None:
        """Deadline of the first progress stage not yet reached (None once closed)."""
        if self.is_closed:
            return None
        for stage in PROGRESS:
            if stage not in self.reached:
                return self.due.get(stage)
        return None


@dataclass(frozen=True)
class TipChange:
    """The new state a transition writes, all at once."""

    stage: Stage
    category: Category | None
    urgent: bool
    agency_code: str
    reached: dict[Stage, datetime]
    due: dict[Stage, datetime]
    next_due_at: datetime | None
    at_risk_at: datetime | None
    extensions: int
    duplicate_of: int | None
    changed_at: datetime


@dataclass(frozen=True)
class TriageDecision:
    """One field an officer settled: what triage proposed and what the officer chose."""

    field: str
    proposed: str | None
    decided: str | None

    @property
    def corrected(self) -> bool:
        return self.proposed != self.decided


@dataclass(frozen=True)
class StaffNote:
    """A note officers leave on a tip for each other; never shown to the reporter."""

    actor: str
    text: str
    at: datetime


@dataclass(frozen=True)
class TransitionRecord:
    """One row of a tip's history: who moved it, when, from where to where, and why."""

    tip_id: int
    action: str  # "create", "transition" or "extension"
    from_stage: Stage | None
    to_stage: Stage
    actor: str
    at: datetime
    reason: str = ""
    to_agency: str | None = None
    details: dict[str, str] = field(default_factory=dict)


def creation_record(tip: NewTip, tip_id: int) -> TransitionRecord:
    """The first line of a new tip's history: received from the reporter, on its channel."""
    return TransitionRecord(
        tip_id=tip_id,
        action="create",
        from_stage=None,
        to_stage=Stage.RECEIVED,
        actor=f"reporter:{tip.draft.channel.value}",
        at=tip.received_at,
    )
