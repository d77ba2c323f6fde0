"""Campaigns (one published item to one audience, now or later) and their deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core.errors import IllegalTransition


class CampaignState(StrEnum):
    SCHEDULED = "scheduled"  # waiting for `scheduled_at`; recipients not chosen yet
    RUNNING = "running"  # recipients chosen (one delivery row each); being delivered
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


CAMPAIGN_TRANSITIONS: dict[CampaignState, frozenset[CampaignState]] = {
    CampaignState.SCHEDULED: frozenset(
        {CampaignState.RUNNING, CampaignState.PAUSED, CampaignState.CANCELLED}
    ),
    CampaignState.RUNNING: frozenset({CampaignState.PAUSED, CampaignState.CANCELLED, CampaignState.DONE}),
    CampaignState.PAUSED: frozenset(
        {CampaignState.SCHEDULED, CampaignState.RUNNING, CampaignState.CANCELLED}
    ),
    CampaignState.CANCELLED: frozenset(),
    CampaignState.DONE: frozenset(),
}


def check_campaign_transition(current: CampaignState, target: CampaignState) -> None:
    if target not in CAMPAIGN_TRANSITIONS[current]:
        raise IllegalTransition(f"a {current.value} campaign cannot become {target.value}")


class DeliveryState(StrEnum):
    """One row per (campaign, subscriber). `sending` is written (with a lease) before the
    Bot API call and replaced after it: see docs/outreach.md, "Exactly once"."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    BLOCKED = "blocked"  # 403: the person blocked the bot; they are unsubscribed
    FAILED = "failed"  # gave up: permanent error, or transient errors exhausted
    SKIPPED = "skipped"  # unsubscribed before their turn, or the campaign was cancelled


FINAL_DELIVERY_STATES = frozenset(
    {DeliveryState.SENT, DeliveryState.BLOCKED, DeliveryState.FAILED, DeliveryState.SKIPPED}
)


@dataclass(frozen=True)
class Campaign:
    id: int
    item_id: int
    group: str
    audience: str
    area_code: str | None
    state: CampaignState
    scheduled_at: datetime
    created_at: datetime
    created_by: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    updated_by: str | None = None


@dataclass(frozen=True)
class Progress:
    """Where a campaign stands: counts per delivery state and the sending rate."""

    campaign: Campaign
    counts: dict[str, int]
    #: Messages finished (sent/blocked/failed) per second since the campaign started.
    rate: float
    #: The same over the last ten seconds.
    recent_rate: float
    #: Sent rows whose fate is unknown (the worker died mid-call); counted as sent.
    unconfirmed: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        return sum(self.counts.get(s.value, 0) for s in FINAL_DELIVERY_STATES)

    @property
    def fraction(self) -> float:
        return (
            self.done / self.total
            if self.total
            else (1.0 if self.campaign.state == CampaignState.DONE else 0.0)
        )

    def to_dict(self) -> dict[str, object]:
        c = self.campaign
        return {
            "campaign": c.id,
            "item": c.item_id,
            "audience": c.audience,
            "area": c.area_code,
            "state": c.state.value,
            "scheduled_at": c.scheduled_at.isoformat(),
            "started_at": c.started_at.isoformat() if c.started_at else None,
            "finished_at": c.finished_at.isoformat() if c.finished_at else None,
            "total": self.total,
            "done": self.done,
            "counts": {s.value: self.counts.get(s.value, 0) for s in DeliveryState},
            "rate": round(self.rate, 2),
            "recent_rate": round(self.recent_rate, 2),
            "unconfirmed": self.unconfirmed,
        }
