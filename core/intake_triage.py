"""Triage on intake: a proposal for every new tip, with duplicates among open tips.

Each worker keeps a duplicate index of the open tips of the last 90 days. It indexes the
tips it stores itself as soon as they are committed, and before proposing it reads the tips
it has not seen yet (other workers' included) by id, so the index stays current across
workers without any shared in-memory state; the database stays the record. That read is
done at most once per `refresh` seconds (one second by default): under a burst it would
otherwise be a query per tip, and a tip stored by another worker less than a second ago is
the only one a proposal can miss.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import lru_cache

from core.categories import Category
from core.ports import UnitOfWork
from core.tips import Tip, TriageDecision
from core.triage import DuplicateIndex, Fingerprint, Proposal, Triage
from core.triage.duplicates import WINDOW

#: How many unseen tips one refresh reads at a time.
BATCH = 5_000
#: How many stale matches (closed or aged-out originals) one proposal may skip.
MAX_STALE = 5
#: Seconds between two reads of the tips other workers stored.
REFRESH = 1.0


@lru_cache(maxsize=1)
def shared_engine() -> Triage:
    """One engine per process: lexicons and language profiles load once."""
    engine = Triage()
    engine.warm_up()
    return engine


class LiveTriage:
    def __init__(
        self,
        engine: Triage,
        province_code: str,
        *,
        refresh: float = REFRESH,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.province_code = province_code
        self.index = DuplicateIndex()
        self.seen_id = 0
        self.refresh = refresh
        self._monotonic = monotonic
        self._caught_up_at: float | None = None
        self._lock = asyncio.Lock()

    async def propose(self, uow: UnitOfWork, text: str, now: datetime) -> tuple[Proposal, Fingerprint]:
        """The proposal for `text` (a proposed duplicate is always an open tip) and the
        text's fingerprint, to `remember` once the tip has its id."""
        async with self._lock:
            if self._caught_up_at is None or self._monotonic() - self._caught_up_at >= self.refresh:
                await self._catch_up(uow, now)
                self._caught_up_at = self._monotonic()
            for _ in range(MAX_STALE):
                proposal, fp = self.engine.propose_and_fingerprint(
                    text, province_code=self.province_code, earlier=self.index, now=now
                )
                if not isinstance(proposal.duplicate_of, int):
                    return proposal, fp
                original = await uow.tips.get(proposal.duplicate_of)
                if not original.is_closed and now - original.received_at <= WINDOW:
                    return proposal, fp
                # Closed or too old since it was indexed: forget it and look again.
                self.index.discard(original.id)
        unmatched = replace(
            proposal,
            duplicate_of=None,
            reasons=tuple(r for r in proposal.reasons if not r.startswith("duplicate")),
        )
        return unmatched, fp

    def remember(self, tip_id: int, fp: Fingerprint, received_at: datetime) -> None:
        """Index a tip this worker just stored, so catching up need not fingerprint it again."""
        if tip_id not in self.index:
            self.index.add(tip_id, fp, received_at=received_at, now=received_at)

    async def _catch_up(self, uow: UnitOfWork, now: datetime) -> None:
        while True:
            rows = await uow.tips.open_texts_since(
                after_id=self.seen_id, received_since=now - WINDOW, limit=BATCH
            )
            for tip_id, text, received_at in rows:
                if tip_id not in self.index:
                    self.index.add(tip_id, self.engine.fingerprint(text), received_at=received_at, now=now)
                self.seen_id = max(self.seen_id, tip_id)
            if len(rows) < BATCH:
                return


def decisions_for(
    tip: Tip,
    *,
    category: Category | None,
    urgent: bool | None,
    duplicate_of: int | None,
) -> list[TriageDecision]:
    """What the officer settled now, against what triage proposed (fields they set only)."""
    proposal = tip.triage or {}
    if not proposal:
        return []
    decisions = []
    if category is not None:
        decisions.append(TriageDecision("category", _text(proposal.get("category")), category.value))
    if urgent is not None:
        decisions.append(TriageDecision("urgent", _text(proposal.get("urgent")), _text(urgent)))
    if duplicate_of is not None:
        decisions.append(
            TriageDecision("duplicate_of", _text(proposal.get("duplicate_of")), str(duplicate_of))
        )
    return decisions


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
