"""Service layer: each function is one use case in one transaction.

Channels (web, Telegram, CLI) call these and nothing below them. A service opens a unit of
work, applies the domain rules, writes, and commits; any error rolls everything back.
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
from core.categories import URGENT_BY_NATURE, Category
from core.errors import Conflict, DuplicateKey, ExtensionRefused, InvalidInput, NotFound
from core.group_commit import GroupCommit
from core.intake_triage import Analyser, Analysis, LiveTriage, decisions_for
from core.jurisdiction import Jurisdiction
from core.kpi import KpiReport, KpiScope, Period
from core.messages import AttachmentMeta, Author, Message
from core.notifications import notify_for
from core.passphrases import PassphraseHasher, new_passphrase
from core.ports import AttachmentStore, UnitOfWork
from core.queue import QueueFilter, QueuePage
from core.receipts import new_receipt_code
from core.reference_cache import ReferenceCache
from core.routing import DEFAULT_ROUTING, AgencyKind, RoutingPolicy
from core.sla import DeadlinePolicy, TipFacts
from core.stages import CLOSING_EXITS, PROGRESS, Stage, check_transition
from core.tips import NewTip, StaffNote, Tip, TipChange, TipDraft, TransitionRecord
from core.triage import Fingerprint
from core.triage_feedback import Correction, CorrectionShare

Clock = Callable[[], datetime]

#: Moves that need a written reason: they end or hand off the tip, and are audited.
REASON_REQUIRED: frozenset[Stage] = CLOSING_EXITS | {Stage.REFERRED}
RECEIPT_ATTEMPTS = 5
MAX_TEXT = 20_000
#: When a reported event may have happened: not before this, not after now (give or take a
#: wrong phone clock or a time zone mixed up).
EARLIEST_OCCURRENCE = datetime(1900, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(days=1)


def utc_now() -> datetime:
    return datetime.now(UTC)


def _still_held(tip: Tip) -> None:
    """Nothing is added to a tip whose content the retention rules forgot: it would be
    kept for ever, past every rule."""
    if tip.forgotten_at is not None:
        raise InvalidInput("this tip's content was deleted under the retention rules; nothing can be added")


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


@dataclass(frozen=True)
class TransitionRequest:
    target: Stage
    actor: str
    reason: str = ""
    expected_stage: Stage | None = None
    category: Category | None = None
    urgent: bool | None = None
    to_agency: str | None = None
    duplicate_of: int | None = None


def staff_text(text: str, what: str) -> str:
    """An officer's text, stripped; refused when empty or carrying a NUL (no keyboard types
    one, and PostgreSQL cannot store it: it answered "database unavailable")."""
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInput(f"{what} must not be empty")
    if "\x00" in cleaned:
        raise InvalidInput(f"{what} must not contain NUL characters")
    return cleaned


def at_risk_moment(received_at: datetime, due: datetime | None, fraction: float) -> datetime | None:
    """When a deadline turns "at risk": `fraction` of the time from receipt used."""
    if due is None:
        return None
    return received_at + (due - received_at) * fraction


class TipService:
    """The tip lifecycle use cases, wired once with storage, calendar and clock."""

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
        #: Shared with the staff service, which forgets the routing when an admin changes it.
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
        self.intake: GroupCommit[PendingTip, DecidedTip, StoredTip] = GroupCommit(
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
            stored = await self.intake.submit(pending)
        except Exception:
            # Not stored. (A cancelled caller keeps its files: the tip may still commit.)
            if self.store is not None:
                await discard_files(self.store, keys)
            raise
        return Receipt(stored.id, stored.receipt_code, Stage.RECEIVED, received_at, stored.urgent, passphrase)

    async def close(self) -> None:
        """Finish writing the tips already accepted (before the database closes)."""
        await self.intake.close()

    async def reply(
        self, tip_id: int, *, actor: str, text: str, within: Jurisdiction | None = None
    ) -> Message:
        """An officer's answer to the reporter, shown on the status page; audited.
        `within` (here and below) is the acting officer's jurisdiction: outside it a tip
        does not exist (NotFound); None is the system itself (CLI, demo, bot)."""
        cleaned = staff_text(text, "a reply")
        now = self.clock()
        message = Message(Author.OFFICER, cleaned, now)
        async with self._uow() as uow:
            _still_held(await uow.tips.get(tip_id, within))
            await uow.conversation.add_message(tip_id, message, actor=actor)
            await uow.audit.record(actor=actor, action="reply", tip_id=tip_id, at=now)
            await uow.commit()
        return message

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

    async def view(
        self, tip_id: int, actor: str, within: Jurisdiction | None = None
    ) -> tuple[Tip, Sequence[TransitionRecord]]:
        """A staff read of a tip and its history; every read is audited."""
        async with self._uow() as uow:
            tip = await uow.tips.get(tip_id, within)
            history = await uow.tips.history(tip_id)
            await uow.audit.record(actor=actor, action="view", tip_id=tip_id, at=self.clock())
            await uow.commit()
        return tip, history

    async def thread(self, tip_id: int, within: Jurisdiction | None = None) -> Sequence[Message]:
        """The conversation with the reporter, for the tip's staff page (after `view`,
        which audits the read)."""
        async with self._uow() as uow:
            await uow.tips.get(tip_id, within)
            return await uow.conversation.messages(tip_id)

    async def add_note(
        self, tip_id: int, *, actor: str, text: str, within: Jurisdiction | None = None
    ) -> StaffNote:
        """A note for colleagues on the tip (never for the reporter); audited."""
        cleaned = staff_text(text, "a note")
        note = StaffNote(actor, cleaned, self.clock())
        async with self._uow() as uow:
            _still_held(await uow.tips.get(tip_id, within))
            await uow.tips.add_note(tip_id, note)
            await uow.audit.record(actor=actor, action="note", tip_id=tip_id, at=note.at)
            await uow.commit()
        return note

    async def notes(self, tip_id: int, within: Jurisdiction | None = None) -> Sequence[StaffNote]:
        async with self._uow() as uow:
            await uow.tips.get(tip_id, within)
            return await uow.tips.notes(tip_id)

    async def attachments(self, tip_id: int, within: Jurisdiction | None = None) -> Sequence[AttachmentMeta]:
        """What files a tip has (metadata only), for its staff page."""
        async with self._uow() as uow:
            await uow.tips.get(tip_id, within)
            return await uow.conversation.attachments(tip_id)

    async def download(
        self, tip_id: int, number: int, *, actor: str, within: Jurisdiction | None = None
    ) -> tuple[AttachmentMeta, bytes]:
        """The `number`-th file of a tip (1-based), for authorised staff only; every
        download is audited before the bytes leave."""
        async with self._uow() as uow:
            await uow.tips.get(tip_id, within)
            files = await uow.conversation.attachments(tip_id)
            if self.store is None or not 1 <= number <= len(files):
                raise NotFound("no such attachment")
            meta = files[number - 1]
            await uow.audit.record(
                actor=actor, action="download", tip_id=tip_id, at=self.clock(), detail=str(number)
            )
            await uow.commit()
        return meta, await self.store.get(meta.storage_key)

    async def queue(self, within: Jurisdiction, query: QueueFilter) -> QueuePage:
        """One page of an officer's queue, only ever within their jurisdiction."""
        async with self._uow() as uow:
            return await uow.tips.queue(within, query, self.clock())

    async def transition(
        self, tip_id: int, request: TransitionRequest, within: Jurisdiction | None = None
    ) -> Tip:
        """Move a tip to another stage; atomic, and refused if someone moved it first."""
        now = self.clock()
        async with self._uow() as uow:
            tip = await uow.tips.get(tip_id, within)
            if request.expected_stage is not None and request.expected_stage != tip.stage:
                raise Conflict(
                    f"tip is now {tip.stage.value}, not {request.expected_stage.value}; "
                    "someone else acted on it — reload and decide again"
                )
            check_transition(tip.stage, request.target, tip.reached_stages())
            await self._check_request(uow, tip, request, within)
            policy = await self.reference.policy(uow, tip.policy_version)
            change = self._change_for(tip, request, policy, now, routing=await uow.routing.current())
            await uow.tips.apply_change(tip, change)
            if change.category is not tip.category:
                await notify_for(uow, tip.id, change.category, tip.province_code, now)
            decisions = decisions_for(
                tip,
                category=request.category,
                urgent=request.urgent,
                duplicate_of=request.duplicate_of if request.target is Stage.DUPLICATE else None,
            )
            if decisions:
                await uow.tips.record_decisions(tip.id, decisions, actor=request.actor, at=now)
            await uow.tips.add_history(
                TransitionRecord(
                    tip_id=tip.id,
                    action="transition",
                    from_stage=tip.stage,
                    to_stage=request.target,
                    actor=request.actor,
                    at=now,
                    reason=request.reason.strip(),
                    to_agency=request.to_agency,
                )
            )
            await uow.audit.record(
                actor=request.actor,
                action=f"transition:{request.target.value}",
                tip_id=tip.id,
                at=now,
            )
            await uow.commit()
            return await self._reload(uow, tip_id)

    async def extend_deadline(
        self,
        tip_id: int,
        *,
        actor: str,
        reason: str,
        days: int | None = None,
        within: Jurisdiction | None = None,
    ) -> Tip:
        """Extend the decision deadline (CPC art. 147), with a reason, within the limit."""
        if not reason.strip():
            raise InvalidInput("an extension needs a reason")
        staff_text(reason, "a reason")
        now = self.clock()
        async with self._uow() as uow:
            tip = await uow.tips.get(tip_id, within)
            if tip.is_closed or Stage.PROCESSED in tip.reached:
                raise ExtensionRefused(f"tip is {tip.stage.value}; nothing left to extend")
            policy = await self.reference.policy(uow, tip.policy_version)
            new_due = policy.extended_deadline(
                received_at=tip.received_at,
                current_due=tip.due[Stage.PROCESSED],
                extensions_so_far=tip.extensions,
                days=days,
            )
            due = {**tip.due, Stage.PROCESSED: new_due}
            next_due = _next_due(tip.stage, tip.reached, due)
            change = TipChange(
                stage=tip.stage,
                category=tip.category,
                urgent=tip.urgent,
                agency_code=tip.agency_code,
                reached=tip.reached,
                due=due,
                next_due_at=next_due,
                at_risk_at=at_risk_moment(tip.received_at, next_due, policy.at_risk_fraction),
                extensions=tip.extensions + 1,
                duplicate_of=tip.duplicate_of,
                changed_at=now,
            )
            await uow.tips.apply_change(tip, change)
            await uow.tips.add_history(
                TransitionRecord(
                    tip_id=tip.id,
                    action="extension",
                    from_stage=tip.stage,
                    to_stage=tip.stage,
                    actor=actor,
                    at=now,
                    reason=reason.strip(),
                    details={"processed_due_at": new_due.isoformat()},
                )
            )
            await uow.audit.record(actor=actor, action="extension", tip_id=tip.id, at=now)
            await uow.commit()
            return await self._reload(uow, tip_id)

    async def kpi(
        self,
        period: Period,
        scope: KpiScope,
        as_of: datetime | None = None,
        within: Jurisdiction | None = None,
        exported_by: str | None = None,
    ) -> KpiReport:
        """The KPI for a period and scope, as of now (or a given moment); an officer's
        figures count only the tips of their jurisdiction. An export is audited."""
        async with self._uow() as uow:
            policy = await self.reference.current_policy(uow)
            report = await uow.tips.kpi(period, scope, as_of or self.clock(), policy.at_risk_fraction, within)
            if exported_by is not None:
                detail = f"kpi {period.start.isoformat()}..{period.end.isoformat()} {scope.describe()}"
                await uow.audit.record(
                    actor=exported_by, action="export", tip_id=None, at=self.clock(), detail=detail
                )
                await uow.commit()
            return report

    async def triage_corrections(
        self, period: Period, within: Jurisdiction | None = None
    ) -> list[CorrectionShare]:
        """How often officers changed triage's proposed category in the period, per category."""
        start, end = period.bounds()
        async with self._uow() as uow:
            return await uow.tips.correction_shares(start, end, within)

    async def export_corrections(self, period: Period, exported_by: str) -> list[Correction]:
        """Officers' decisions with the tips' texts, for retraining triage; audited."""
        start, end = period.bounds()
        async with self._uow() as uow:
            rows = await uow.tips.corrections(start, end)
            detail = f"triage corrections {period.start.isoformat()}..{period.end.isoformat()}: {len(rows)}"
            await uow.audit.record(
                actor=exported_by, action="export", tip_id=None, at=self.clock(), detail=detail
            )
            await uow.commit()
            return rows

    async def _check_request(
        self, uow: UnitOfWork, tip: Tip, request: TransitionRequest, within: Jurisdiction | None
    ) -> None:
        if "\x00" in request.reason:
            raise InvalidInput("a reason must not contain NUL characters")
        if request.target in REASON_REQUIRED and not request.reason.strip():
            raise InvalidInput(f"moving a tip to {request.target.value} needs a reason")
        if request.target is Stage.REFERRED:
            if not request.to_agency:
                raise InvalidInput("a referral needs to_agency")
            if request.to_agency == tip.agency_code:
                raise InvalidInput("the tip already belongs to that agency")
            if not await uow.agencies.exists(request.to_agency):
                raise InvalidInput(f"unknown agency {request.to_agency}")
            misconduct = (request.category or tip.category) is Category.OFFICIAL_MISCONDUCT
            if misconduct and not request.to_agency.startswith(f"{AgencyKind.INSPECTORATE.value}:"):
                raise InvalidInput("official misconduct stays with the inspectorate")
        if request.to_agency and request.target is not Stage.REFERRED:
            # E.g. classifying a complaint, naming the agency complained about (which then
            # owns it; only its supervisors read complaints).
            if not await uow.agencies.exists(request.to_agency):
                raise InvalidInput(f"unknown agency {request.to_agency}")
            inspectorate = request.to_agency.startswith(f"{AgencyKind.INSPECTORATE.value}:")
            if (request.category or tip.category) is Category.OFFICIAL_MISCONDUCT and not inspectorate:
                raise InvalidInput("official misconduct stays with the inspectorate")
        if request.target is Stage.DUPLICATE:
            if request.duplicate_of is None:
                raise InvalidInput("a duplicate needs duplicate_of, the original tip's id")
            if request.duplicate_of == tip.id:
                raise InvalidInput("a tip cannot duplicate itself")
            try:
                await uow.tips.get(request.duplicate_of, within)
            except NotFound:
                raise InvalidInput(f"tip {request.duplicate_of} does not exist") from None

    def _change_for(
        self,
        tip: Tip,
        request: TransitionRequest,
        policy: DeadlinePolicy,
        now: datetime,
        routing: RoutingPolicy = DEFAULT_ROUTING,
    ) -> TipChange:
        category = request.category or tip.category
        urgent = tip.urgent if request.urgent is None else request.urgent
        reached = dict(tip.reached)
        if request.target in PROGRESS:
            reached[request.target] = now
        facts = TipFacts(received_at=tip.received_at, category=category, urgent=urgent, remote=tip.remote)
        due = policy.deadlines(facts, self.calendar)
        # Deadlines already met stay as they were judged; an extended one stays extended.
        for stage in reached:
            if stage in tip.due:
                due[stage] = tip.due[stage]
        if tip.extensions:
            due[Stage.PROCESSED] = tip.due[Stage.PROCESSED]
        next_due = _next_due(request.target, reached, due)
        agency = tip.agency_code
        if request.to_agency:
            agency = request.to_agency
        elif request.category and (not tip.category or request.category is Category.OFFICIAL_MISCONDUCT):
            # Classed as misconduct, a tip leaves the unit it may name at once.
            agency = routing.owner(category, tip.province_code, tip.commune_code)
        return TipChange(
            stage=request.target,
            category=category,
            urgent=urgent,
            agency_code=agency,
            reached=reached,
            due=due,
            next_due_at=next_due,
            at_risk_at=at_risk_moment(tip.received_at, next_due, policy.at_risk_fraction),
            extensions=tip.extensions,
            duplicate_of=request.duplicate_of if request.target is Stage.DUPLICATE else tip.duplicate_of,
            changed_at=now,
        )

    @staticmethod
    async def _reload(uow: UnitOfWork, tip_id: int) -> Tip:
        return await uow.tips.get(tip_id)


def _next_due(stage: Stage, reached: dict[Stage, datetime], due: dict[Stage, datetime]) -> datetime | None:
    if stage in CLOSING_EXITS or stage is Stage.PROCESSED:
        return None
    for s in PROGRESS:
        if s not in reached:
            return due.get(s)
    return None
