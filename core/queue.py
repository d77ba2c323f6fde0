"""The staff queue: filters, its order (urgent first, then nearest deadline) and the keyset
cursor that pages through it without OFFSET, so page 1000 costs what page 1 does."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core.categories import Category
from core.errors import InvalidInput
from core.stages import Stage


class Badge(StrEnum):
    ON_TIME = "on_time"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"
    NONE = "none"


def deadline_badge(next_due_at: datetime | None, at_risk_at: datetime | None, now: datetime) -> Badge:
    """Overdue past the next deadline, at risk once 75% of its time is used (stored)."""
    if next_due_at is None:
        return Badge.NONE
    if now > next_due_at:
        return Badge.OVERDUE
    if at_risk_at is not None and now >= at_risk_at:
        return Badge.AT_RISK
    return Badge.ON_TIME


@dataclass(frozen=True)
class Cursor:
    """Sort key of the last item shown: (urgent, next_due_at, id); NULL deadlines last."""

    urgent: bool
    next_due_at: datetime | None
    id: int

    def encode(self) -> str:
        raw = json.dumps([self.urgent, self.next_due_at.isoformat() if self.next_due_at else None, self.id])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            urgent, due, tip_id = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            moment = datetime.fromisoformat(due) if due is not None else None
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            raise InvalidInput("the cursor is not one this server gave out") from None
        if (
            not isinstance(urgent, bool)
            or not isinstance(tip_id, int)
            or (moment is not None and moment.tzinfo is None)
        ):
            raise InvalidInput("the cursor is not one this server gave out")
        return cls(urgent, moment, tip_id)


@dataclass(frozen=True)
class QueueFilter:
    stage: Stage | None = None
    category: Category | None = None
    urgent: bool | None = None
    commune_code: str | None = None
    overdue: bool = False
    #: Words to find in the tip's text (with or without diacritics, in any case) or its place.
    text: str | None = None
    #: Without a stage filter the queue shows open tips (not closed, not processed).
    include_closed: bool = False
    after: Cursor | None = None
    limit: int = 50


@dataclass(frozen=True)
class QueueItem:
    id: int
    stage: Stage
    category: Category | None
    urgent: bool
    commune_code: str | None
    agency_code: str
    received_at: datetime
    next_due_at: datetime | None
    at_risk_at: datetime | None
    #: Triage's proposal, until an officer classifies the tip.
    proposed_category: Category | None = None
    proposed_urgent: bool = False

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.urgent, self.next_due_at, self.id)


@dataclass(frozen=True)
class QueuePage:
    items: tuple[QueueItem, ...]
    next: Cursor | None
