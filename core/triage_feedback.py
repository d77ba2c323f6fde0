"""Learning from officers: how often they change triage's proposals, and their decisions as
training data for `hotline triage train`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CorrectionShare:
    """Of the proposals of one category that officers decided on, how many they changed."""

    category: str
    decided: int
    changed: int

    @property
    def share(self) -> float | None:
        return self.changed / self.decided if self.decided else None

    def to_dict(self) -> dict[str, object]:
        share = self.share
        return {
            "category": self.category,
            "decided": self.decided,
            "changed": self.changed,
            "changed_share": None if share is None else round(share, 4),
        }


@dataclass(frozen=True)
class Correction:
    """One tip an officer classified: its text, what triage proposed and what they decided
    (a field the officer did not set keeps the proposal, which they let stand)."""

    tip_id: int
    text: str
    proposed_category: str | None
    proposed_urgent: bool | None
    category: str | None
    urgent: bool | None
    decided_at: datetime

    def to_dict(self) -> dict[str, object]:
        """One JSON line of `hotline triage export-corrections` (the training files' fields)."""
        return {
            "text": self.text,
            "category": self.category,
            "urgent": self.urgent,
            "proposed_category": self.proposed_category,
            "proposed_urgent": self.proposed_urgent,
            "tip_id": self.tip_id,
            "decided_at": self.decided_at.isoformat(),
        }
