"""Case handling: what officers do with a tip once intake (core.intake) has stored it.

Each method is one use case in one transaction: open a unit of work, apply the domain
rules, write, commit; any error rolls everything back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from core.calendar import WorkingCalendar
from core.categories import Category
from core.errors import Conflict, ExtensionRefused, InvalidInput, NotFound
from core.intake_triage import decisions_for
from core.jurisdiction import Jurisdiction
from core.kpi import KpiReport, KpiScope, Period
from core.messages import AttachmentMeta, Author, Message
from core.notifications import notify_for
from core.ports import AttachmentStore, UnitOfWork
from core.queue import QueueFilter, QueuePage
from core.reference_cache import ReferenceCache
from core.routing import DEFAULT_ROUTING, AgencyKind, RoutingPolicy
from core.sla import DeadlinePolicy, TipFacts, at_risk_moment
from core.stages import CLOSING_EXITS, PROGRESS, Stage, check_transition
from core.tips import StaffNote, Tip, TipChange, TransitionRecord
from core.triage_feedback import Correction, CorrectionShare

Clock = Callable[[], datetime]

#: Moves that need a written reason: they end or hand off the tip, and are audited.
REASON_REQUIRED: frozenset[Stage] = CLOSING_EXITS | {Stage.REFERRED}


def utc_now() -> datetime:
    return datetime.now(UTC)


def _still_held(tip: Tip) -> None:
    """Nothing is added to a tip whose content the retention rules forgot: it would be
    kept for ever, past every rule."""
    if tip.forgotten_at is not None:
        raise InvalidInput("this tip's content was deleted under the retention rules; nothing can be added")


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


class TipService:
    """A stored tip's case: staff reads, notes, files, replies, stage moves, deadline
    extensions and the KPI, wired once with storage, calendar and clock."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        *,
        calendar: WorkingCalendar,
        clock: Clock = utc_now,
        store: AttachmentStore | None = None,
        reference: ReferenceCache | None = None,
    ) -> None:
        self._uow = uow_factory
        #: Shared with intake and the staff service, which forgets the routing when an admin changes it.
        self.reference = reference or ReferenceCache()
        self.calendar = calendar
        self.clock = clock
        self.store = store

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
