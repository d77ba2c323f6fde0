"""Urgent tips as they arrive, for the live queue.

The database is the source of truth and the event source: each open stream asks it every
few seconds for urgent tips with an id above the last one it sent, within the officer's
jurisdiction (the same SQL scoping as the queue), so it works across any number of workers
and a tip another officer may not see is never sent. No Redis is needed; none is trusted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from core.categories import Category
from core.jurisdiction import Jurisdiction
from core.stages import Stage


@dataclass(frozen=True)
class ArrivedTip:
    """What the queue needs to show a new row: never the text."""

    id: int
    stage: Stage
    category: Category | None
    urgent: bool
    commune_code: str | None
    received_at: datetime
    next_due_at: datetime | None


class UrgentFeed(Protocol):
    async def last_id(self, within: Jurisdiction) -> int:
        """The newest tip id in the jurisdiction (0 when none): a new stream starts after it."""
        ...

    async def urgent_after(self, within: Jurisdiction, after_id: int, limit: int) -> Sequence[ArrivedTip]:
        """Open urgent tips with an id above `after_id`, oldest first."""
        ...
