"""Tip intake: a reporter's new tip checked, decided and written in batches (core.group_commit).

Officers' registrations and imports share its checks; what officers then do with a stored tip
is core.services.TipService.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from core.attachments import (
    AttachmentPolicy,
    CleanFile,
    attachment_meta,
    clean_files,
    discard_files,
    store_files,
)
from core.calendar import WorkingCalendar
from core.categories import URGENT_BY_NATURE
from core.errors import DuplicateKey, InvalidInput
from core.group_commit import GroupCommit
from core.intake_triage import Analyser, Analysis, LiveTriage
from core.notifications import notify_for
from core.passphrases import PassphraseHasher, new_passphrase
from core.ports import AttachmentStore, UnitOfWork
from core.receipts import new_receipt_code
from core.reference_cache import ReferenceCache
from core.routing import RoutingPolicy
from core.services import Clock, utc_now
from core.sla import DeadlinePolicy, TipFacts, at_risk_moment
from core.stages import Stage
from core.tips import NewTip, TipDraft
from core.triage import Fingerprint

RECEIPT_ATTEMPTS = 5
MAX_TEXT = 20_000
#: When a reported event may have happened: not before this, not after now (give or take a
#: wrong phone clock or a time zone mixed up).
EARLIEST_OCCURRENCE = datetime(1900, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(days=1)


async def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Receipt:
    """What a reporter is told once the tip is safely stored."""

    tip_id: int
    receipt_code: str
    stage: Stage
    received_at: datetime
    urgent: bool
    #: Shown once to the reporter with the code; only its argon2 hash is stored.
    passphrase: str = ""
    #: An urgent tip accepted although its source was over the rate limit (the answer says so).
    over_limit: bool = False


@dataclass(frozen=True)
class PendingTip:
    """A checked tip waiting for the intake writer, with its passphrase and files."""

    draft: TipDraft
    received_at: datetime
    remote: bool
    #: The fresh passphrase, until the writer's read-ahead has hashed it.
    passphrase: str
    files: Sequence[CleanFile]
    keys: Sequence[str]
    passphrase_hash: str | None = None
    #: Triage's reading of the text, when the analyser did it ahead of the writer.
    analysis: Analysis | None = None

    def hashed(self, passphrase_hash: str) -> PendingTip:
        """The tip with its hash instead of its passphrase (which need not wait any longer)."""
        return replace(self, passphrase="", passphrase_hash=passphrase_hash)


@dataclass(frozen=True)
class DecidedTip:
    """A tip with everything intake decided, ready for its row."""

    tip: NewTip
    #: For the duplicate index, once the tip has its id.
    fingerprint: Fingerprint | None
    files: Sequence[CleanFile]
    keys: Sequence[str]

    def with_receipt_code(self, code: str) -> DecidedTip:
        return replace(self, tip=replace(self.tip, receipt_code=code))


@dataclass(frozen=True)
class StoredTip:
    id: int
    receipt_code: str
    urgent: bool


class TipIntake:
    """A new tip from any channel: checked, its passphrase hashed, triaged, given owner and
    deadlines, and written in a batch with others (core.group_commit)."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        *,
        province_code: str,
        calendar: WorkingCalendar,
        clock: Clock = utc_now,
        hasher: PassphraseHasher,
        store: AttachmentStore | None = None,
        attachment_policy: AttachmentPolicy,
        triage: LiveTriage | None = None,
        analyser: Analyser | None = None,
        reference: ReferenceCache | None = None,
    ) -> None:
        self._uow = uow_factory
        self.triage = triage
        self.analyser = analyser
        #: Shared with the case and staff services, which forget the routing when an admin changes it.
        self.reference = reference or ReferenceCache()
        self.province_code = province_code
        self.calendar = calendar
        self.clock = clock
        self.hasher = hasher
        self.store = store
        self.attachment_policy = attachment_policy
        #: New tips are written in batches: see core.group_commit.
        #: While one batch is written, the next one's passphrases are hashed (and, with an
        #: analyser, its texts read): see `_read_ahead`.
        self.writer: GroupCommit[PendingTip, DecidedTip, StoredTip] = GroupCommit(
            self._decide, self._store, read_ahead=self._read_ahead
        )

    async def start_analyser(self) -> None:
        """Start the triage helper now rather than at the first tip (web app start-up)."""
        if self.analyser is not None:
            await self.analyser.start()

    async def submit(self, draft: TipDraft, *, files: Sequence[bytes] = ()) -> Receipt:
        """Store a new tip (and its cleaned files) and return its receipt with a fresh
        passphrase; the commit happens before we return, so no receipt is ever shown for a
        tip that was not saved. Files written before a failed commit are removed again."""
        received_at = self.clock()
        text = draft.text.strip()
        if not text:
            raise InvalidInput("text must not be empty")
        if len(text) > MAX_TEXT:
            raise InvalidInput(f"text is longer than {MAX_TEXT} characters")
        if "\x00" in text or "\x00" in (draft.place or ""):
            # No keyboard types it; PostgreSQL cannot store it, and would fail the whole batch.
            raise InvalidInput("text and place must not contain NUL characters")
        if draft.occurred_at is not None and not (
            EARLIEST_OCCURRENCE <= draft.occurred_at <= received_at + CLOCK_SKEW
        ):
            # A typo (2062) or a probe (year 1 at +14:00, before any date type's range).
            raise InvalidInput("occurred_at must lie between 1900 and now")
        if files and self.store is None:
            raise InvalidInput("attachments are not accepted on this channel")
        clean = await clean_files(files, self.attachment_policy)
        remote = await self.check_area(draft.commune_code)
        passphrase = new_passphrase()
        keys = await store_files(self.store, clean) if self.store is not None and clean else []
        pending = PendingTip(replace(draft, text=text), received_at, remote, passphrase, clean, keys)
        try:
            stored = await self.writer.submit(pending)
        except Exception:
            # Not stored. (A cancelled caller keeps its files: the tip may still commit.)
            if self.store is not None:
                await discard_files(self.store, keys)
            raise
        return Receipt(stored.id, stored.receipt_code, Stage.RECEIVED, received_at, stored.urgent, passphrase)

    async def close(self) -> None:
        """Finish writing the tips already accepted (before the database closes)."""
        await self.writer.close()

    async def check_area(self, commune_code: str | None) -> bool:
        """Refuse a commune code outside the gazetteer or the province; True if remote.
        The areas come from the per-worker cache, so this usually reads nothing."""
        if commune_code is None:
            return False
        async with self._uow() as uow:
            area = await self.reference.area(uow, commune_code)
        if area is None or area.level != "commune":
            raise InvalidInput(f"unknown commune/ward code {commune_code}")
        if area.province_code != self.province_code:
            raise InvalidInput(f"commune/ward {commune_code} is not in this province")
        return area.remote

    async def _read_ahead(self, batch: Sequence[PendingTip]) -> list[PendingTip]:
        """The intake writer's read-ahead, done while the previous batch is written: the
        batch's passphrases are hashed in one thread call (argon2 releases the GIL, so it
        runs on the other core), and the analyser, if any, reads the texts in its process.

        Why here and not in each request: a thread call per request measured 15-19 ms of
        waiting for 0.75 ms of work (each hand-over between threads waits for the GIL behind
        a busy event loop), and that wait was in every reporter's answer; here it overlaps a
        write the batch waits for anyway, and is paid once per batch."""
        hashes, analysed = await asyncio.gather(
            asyncio.to_thread(self._hash_passphrases, batch),
            self.analyser.analyse(
                [p.draft.text for p in batch], self.province_code, [p.draft.language for p in batch]
            )
            if self.triage is not None and self.analyser is not None
            else _nothing(),
        )
        ready = [p.hashed(h) for p, h in zip(batch, hashes, strict=True)]
        if analysed is None:
            return ready
        return [replace(p, analysis=a) for p, a in zip(ready, analysed, strict=True)]

    def _hash_passphrases(self, batch: Sequence[PendingTip]) -> list[str]:
        return [p.passphrase_hash or self.hasher.hash(p.passphrase) for p in batch]

    async def _decide(self, batch: Sequence[PendingTip]) -> list[DecidedTip | Exception]:
        """Everything intake decides about a batch of tips: triage's proposals, owners,
        deadlines. Run by the intake writer just before it writes the batch."""
        if any(p.passphrase_hash is None for p in batch):  # the read-ahead failed
            hashes = await asyncio.to_thread(self._hash_passphrases, batch)
            batch = [p.hashed(h) for p, h in zip(batch, hashes, strict=True)]
        async with self._uow() as uow:  # reads only when a cache is stale (or triage catches up)
            policy = await self.reference.current_policy(uow)
            routing = await self.reference.routing(uow)
            triaged: Sequence[Analysis | None] = [None] * len(batch)
            if self.triage is not None:
                missing = [p.draft for p in batch if p.analysis is None]
                texts, hints = [d.text for d in missing], [d.language for d in missing]
                read_here = iter(self.triage.analyse(texts, hints))
                analysed = [p.analysis or next(read_here) for p in batch]
                latest = max(p.received_at for p in batch)
                triaged = await self.triage.propose_many(uow, analysed, latest)
        decided: list[DecidedTip | Exception] = []
        for pending, analysis in zip(batch, triaged, strict=True):
            try:
                decided.append(self._decide_one(pending, analysis, policy, routing))
            except Exception as exc:  # about this tip only
                decided.append(exc)
        return decided

    def _decide_one(
        self, pending: PendingTip, analysis: Analysis | None, policy: DeadlinePolicy, routing: RoutingPolicy
    ) -> DecidedTip:
        draft, now = pending.draft, pending.received_at
        urgent = draft.urgent or draft.category in URGENT_BY_NATURE
        proposal, fingerprint = analysis if analysis is not None else (None, None)
        if proposal is not None:
            # A proposed urgency shortens the deadlines at once; an officer who disagrees
            # clears it at classification and the deadlines are recomputed.
            urgent = urgent or proposal.urgent
        facts = TipFacts(received_at=now, category=draft.category, urgent=urgent, remote=pending.remote)
        due = policy.deadlines(facts, self.calendar)
        next_due = due[Stage.VERIFIED]
        tip = NewTip(
            replace(
                draft, urgent=urgent, language=draft.language or (proposal.language if proposal else None)
            ),
            receipt_code=new_receipt_code(),
            province_code=self.province_code,
            remote=pending.remote,
            agency_code=routing.owner(draft.category, self.province_code, draft.commune_code),
            received_at=now,
            due=due,
            next_due_at=next_due,
            at_risk_at=at_risk_moment(now, next_due, policy.at_risk_fraction),
            policy_version=policy.version,
            passphrase_hash=pending.passphrase_hash,
            triage=proposal.to_dict() if proposal else None,
        )
        return DecidedTip(tip, fingerprint, pending.files, pending.keys)

    async def _store(self, batch: Sequence[DecidedTip]) -> list[StoredTip]:
        """Write a batch of new tips in one transaction (see core.group_commit); a taken
        receipt code (45 random bits: almost never) costs new codes and a retry of the whole
        transaction rather than a savepoint on every insert."""
        for attempt in range(RECEIPT_ATTEMPTS):
            try:
                return await self._store_once(batch)
            except DuplicateKey:
                if attempt == RECEIPT_ATTEMPTS - 1:
                    raise
                batch = [d.with_receipt_code(new_receipt_code()) for d in batch]
        raise AssertionError("unreachable")

    async def _store_once(self, batch: Sequence[DecidedTip]) -> list[StoredTip]:
        tips = [d.tip for d in batch]
        async with self._uow() as uow:
            ids = await uow.tips.add_many(tips)  # with their first history line
            for tip_id, decided in zip(ids, batch, strict=True):
                tip = decided.tip
                for key, file in zip(decided.keys, decided.files, strict=True):
                    await uow.conversation.add_attachment(tip_id, attachment_meta(key, file, tip.received_at))
                await notify_for(uow, tip_id, tip.draft.category, self.province_code, tip.received_at)
            await uow.commit()
        if self.triage is not None:
            for tip_id, decided in zip(ids, batch, strict=True):
                if decided.fingerprint is not None:
                    self.triage.remember(tip_id, decided.fingerprint, decided.tip.received_at)
        return [
            StoredTip(tip_id, tip.receipt_code, tip.draft.urgent)
            for tip_id, tip in zip(ids, tips, strict=True)
        ]
