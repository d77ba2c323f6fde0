"""Triage on intake: a proposal for every new tip, with duplicates among open tips.

Each worker keeps a duplicate index of the open tips of the last 90 days. It indexes the
tips it stores itself as soon as they are committed, and before proposing it reads the ids
of the tips stored since it last looked, then the texts of those it has not seen (other
workers'), so the index stays current across workers without any shared in-memory state;
the database stays the record. That read is
done at most once per `refresh` seconds (one second by default): under a burst it would
otherwise be a query per tip, and a tip stored by another worker less than a second ago is
the only one a proposal can miss.

Reading a text (language, category, urgency, place, fingerprint) needs no other tip, so it
may happen elsewhere first (`Triage.analyse`, e.g. in hotline/triage_worker.py); matching
against the index, which is this worker's state, happens here, a batch at a time: the
proposed originals' state is checked with one query per batch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from typing import Protocol

from core.categories import Category
from core.ports import UnitOfWork
from core.tips import Tip, TriageDecision
from core.triage import DuplicateIndex, Fingerprint, Proposal, Triage
from core.triage.duplicates import WINDOW

#: How many unseen tips one refresh reads at a time.
BATCH = 5_000
#: How many rounds of stale matches (closed or aged-out originals) one batch may skip.
MAX_STALE = 5
#: Seconds between two reads of the tips other workers stored.
REFRESH = 1.0


#: A text's proposal before duplicates are looked for, and its fingerprint.
Analysis = tuple[Proposal, Fingerprint]


class Analyser(Protocol):
    """Reads texts away from the event loop (hotline/triage_worker.py)."""

    async def start(self) -> None:
        """Begin getting ready, without waiting (the web app calls it at start-up)."""
        ...

    async def analyse(
        self, texts: Sequence[str], province_code: str, hints: Sequence[str | None] | None = None
    ) -> Sequence[Analysis] | None:
        """One `Triage.analyse` per text, in order, with the language each came in (`hints`,
        e.g. the chat's); None if it cannot now (not started, restarting): the caller then
        reads the texts itself."""
        ...

    @property
    def ready(self) -> bool:
        """Whether it can read texts now (for monitoring)."""
        ...

    #: Batches it read, and batches it could not (then read in-process): for monitoring.
    answered: int
    missed: int


@lru_cache(maxsize=1)
def shared_triage() -> Triage:
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

    def analyse(self, texts: Sequence[str], hints: Sequence[str | None] | None = None) -> list[Analysis]:
        """Read texts here, on the event loop (when no analyser did it elsewhere); `hints`:
        the language of the conversation or form each text came in, if known."""
        langs = list(hints) if hints is not None else [None] * len(texts)
        return [
            self.engine.analyse(text, province_code=self.province_code, language_hint=hint)
            for text, hint in zip(texts, langs, strict=True)
        ]

    async def propose_many(
        self, uow: UnitOfWork, analysed: Sequence[Analysis], now: datetime
    ) -> list[Analysis]:
        """The proposals for a batch of analysed texts, each with the open tip it repeats
        (a proposed duplicate is always an open tip of the last 90 days), and the
        fingerprints, to `remember` once the tips have their ids. Tips of one batch are not
        compared with each other: they are all new."""
        async with self._lock:
            if self._caught_up_at is None or self._monotonic() - self._caught_up_at >= self.refresh:
                await self._catch_up(uow, now)
                self._caught_up_at = self._monotonic()
            proposals = [self.engine.match(base, fp, self.index) for base, fp in analysed]
            live: set[Hashable] = set()
            for _ in range(MAX_STALE):
                unknown = {p.duplicate_of for p in proposals if _unchecked(p, live)}
                if not unknown:
                    break
                still_open = await uow.tips.open_among(
                    {int(key) for key in unknown if isinstance(key, int)}, received_since=now - WINDOW
                )
                live |= still_open
                for key in unknown - live:  # closed or too old since it was indexed: look again
                    self.index.discard(key)
                proposals = [
                    self.engine.match(base, fp, self.index) if _unchecked(p, live) else p
                    for p, (base, fp) in zip(proposals, analysed, strict=True)
                ]
            proposals = [_unmatched(p) if _unchecked(p, live) else p for p in proposals]
        return [(p, fp) for p, (_, fp) in zip(proposals, analysed, strict=True)]

    def remember(self, tip_id: int, fp: Fingerprint, received_at: datetime) -> None:
        """Index a tip this worker just stored, so catching up need not fingerprint it again.

        Every open tip up to `seen_id` is known; while the next id is one this worker stored
        itself, `seen_id` moves past it, so catching up does not read back the worker's own
        tips (alone, it stores them all: reading them back cost 5-13 ms a second, stalling
        the intake writer). Another worker's tip in between stops it there, to be read."""
        if tip_id not in self.index:
            self.index.add(tip_id, fp, received_at=received_at, now=received_at)
        while self.seen_id + 1 in self.index:
            self.seen_id += 1

    async def _catch_up(self, uow: UnitOfWork, now: datetime) -> None:
        """Index the open tips this worker has not seen: those other workers stored (their
        texts are read and fingerprinted here), not the ones it remembered itself."""
        while True:
            ids = await uow.tips.open_since(after_id=self.seen_id, received_since=now - WINDOW, limit=BATCH)
            unseen = [tip_id for tip_id in ids if tip_id not in self.index]
            found = await uow.tips.texts(unseen)
            for tip_id in unseen:  # oldest first: the earliest of several copies is proposed
                if tip_id in found:
                    text, received_at = found[tip_id]
                    self.index.add(tip_id, self.engine.fingerprint(text), received_at=received_at, now=now)
            self.seen_id = max(self.seen_id, ids[-1]) if ids else self.seen_id
            if len(ids) < BATCH:
                return


def _unchecked(proposal: Proposal, live: set[Hashable]) -> bool:
    return proposal.duplicate_of is not None and proposal.duplicate_of not in live


def _unmatched(proposal: Proposal) -> Proposal:
    return replace(
        proposal,
        duplicate_of=None,
        reasons=tuple(r for r in proposal.reasons if not r.startswith("duplicate")),
    )


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
