"""Use cases of support: a person asks for help anonymously, health and social workers of
the area assess, refer to a provider and follow the referral to an outcome; training records,
staff counts and offline outreach feed the plan's indicators (`register_indicators`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from core.calendar import WorkingCalendar
from core.errors import InvalidInput, NotFound
from core.establishments import Scope, scope_of
from core.indicators import Direction, IndicatorRegistry, Ratio, Spec
from core.kpi import Period
from core.passphrases import PassphraseHasher, new_passphrase
from core.receipts import new_receipt_code, normalise
from core.support import (
    Activity,
    ActivityRecord,
    CasePage,
    Level,
    Provider,
    ReferralOutcome,
    Sealer,
    StaffCount,
    State,
    SupportCase,
    TrainingRecord,
    TrainingSession,
    check_activity,
    check_contact,
    check_in_area,
    check_kinds,
    check_move,
    check_text,
    check_training,
    content,
)

Clock = Callable[[], datetime]
#: Agency kinds whose workers manage support cases; every other kind (police first) sees none.
CASE_WORKER_KINDS = frozenset({"health", "commune", "social"})

#: The plan's support, training and outreach indicators with the provincial plans' targets
#: as defaults (Tuyên Quang: 70 % of those assessed receive a service; staff trained every
#: year: 80 % at the province, 60 % in communes; 90 % of communes with outreach).
SPECS = (
    Spec("support_received", "Assessed support cases that received a service", Direction.AT_LEAST, 0.7),
    Spec("staff_trained_province", "Provincial staff trained in the period", Direction.AT_LEAST, 0.8),
    Spec("staff_trained_commune", "Commune staff trained in the period", Direction.AT_LEAST, 0.6),
    Spec("communes_with_outreach", "Communes with outreach activity in the period", Direction.AT_LEAST, 0.9),
)


def support_scope(*, admin: bool, agency_code: str, area_code: str) -> Scope | None:
    """Admins see every case; health and social workers their area's; anyone else none."""
    if admin:
        return Scope(everything=True)
    if agency_code.partition(":")[0] not in CASE_WORKER_KINDS:
        return None
    return scope_of(admin=False, area_code=area_code)


@dataclass(frozen=True)
class Receipt:
    code: str
    passphrase: str


class SupportService:
    def __init__(
        self,
        store: Any,
        *,
        clock: Clock,
        province_code: str,
        hasher: PassphraseHasher,
        calendar: WorkingCalendar,
        sealer: Sealer | None,
    ) -> None:
        self._store = store
        self.clock = clock
        self.province_code = province_code
        self.hasher = hasher
        self.calendar = calendar
        self.sealer = sealer
        self.content = content()

    def _message_sealer(self) -> Sealer:
        """Messages are stored sealed only: without a master key there is nowhere to put them."""
        if self.sealer is None:
            raise InvalidInput("messages cannot be stored on this server (no master key)")
        return self.sealer

    # --- the person ---------------------------------------------------------------------

    async def ask(
        self, *, kinds: Sequence[str], commune: str | None, contact: str | None, message: str
    ) -> Receipt:
        """Open an anonymous case; the receipt and passphrase read answers and continue."""
        chosen = check_kinds(kinds, self.content.kind_codes())
        body = check_text(message)
        reach = check_contact(contact)
        if reach is not None and self.sealer is None:
            raise InvalidInput("a way to be reached cannot be stored on this server (no master key)")
        code, phrase = new_receipt_code(), new_passphrase()
        now = self.clock()
        due = self.calendar.add_working_days(now, self.content.deadlines["first_contact"])
        async with self._store() as tx:
            if commune and not await tx.commune_exists(commune, self.province_code):
                raise InvalidInput(f"unknown commune {commune!r}")
            case_id = await tx.add_case(
                code=code,
                passphrase_hash=self.hasher.hash(phrase),
                commune=commune or None,
                province=self.province_code,
                kinds=chosen,
                at=now,
                due=due,
            )
            if reach is not None:
                assert self.sealer is not None
                await tx.set_contact(case_id, self.sealer.seal(reach.encode(), _context(case_id)))
            if body:
                await tx.add_message(
                    case_id, at=now, author="person", body=body, sealer=self._message_sealer()
                )
            await tx.add_event(
                case_id, at=now, actor="person", action=State.RECEIVED.value, detail=",".join(chosen)
            )
            await tx.commit()
        return Receipt(code, phrase)

    async def _own_case(self, tx: Any, code: str, passphrase: str) -> SupportCase:
        canonical = normalise(code)
        found = await tx.case_by_code(canonical) if canonical else None
        stored = found[1] if found else None
        if not self.hasher.verify(stored, passphrase) or found is None:
            raise NotFound("no support request with that code and passphrase")
        return found[0]  # type: ignore[no-any-return]

    async def read(self, code: str, passphrase: str) -> CasePage:
        async with self._store() as tx:
            case = await self._own_case(tx, code, passphrase)
            return await tx.page(case.id, self.sealer)  # type: ignore[no-any-return]

    async def write(self, code: str, passphrase: str, message: str) -> None:
        body = check_text(message)
        if not body:
            raise InvalidInput("the message is empty")
        async with self._store() as tx:
            case = await self._own_case(tx, code, passphrase)
            if case.state is State.CLOSED:
                raise InvalidInput("this request is closed; please send a new one")
            await tx.add_message(
                case.id, at=self.clock(), author="person", body=body, sealer=self._message_sealer()
            )
            await tx.commit()

    # --- case workers -------------------------------------------------------------------

    async def _case(self, tx: Any, case_id: int, scope: Scope | None) -> SupportCase:
        case = await tx.case(case_id) if scope is not None else None
        if case is None or scope is None or not _allows(scope, case):
            raise NotFound("no such support case")
        return case  # type: ignore[no-any-return]

    async def cases(self, scope: Scope | None, state: State | None = None) -> list[SupportCase]:
        if scope is None:
            return []
        async with self._store() as tx:
            return [c for c in await tx.cases(scope, state) if _allows(scope, c)]

    async def page(self, case_id: int, scope: Scope | None) -> CasePage:
        async with self._store() as tx:
            await self._case(tx, case_id, scope)
            return await tx.page(case_id, self.sealer)  # type: ignore[no-any-return]

    async def contact(self, case_id: int, scope: Scope | None, *, actor: str) -> str | None:
        """The sealed contact, opened for the case worker; the reading is audited."""
        async with self._store() as tx:
            case = await self._case(tx, case_id, scope)
            sealed = await tx.contact(case.id)
            if sealed is None or self.sealer is None:
                return None
            await tx.add_event(case.id, at=self.clock(), actor=actor, action="contact_read", detail="")
            await tx.commit()
            return self.sealer.open(sealed, _context(case.id)).decode()

    async def move(
        self, case_id: int, target: State, scope: Scope | None, *, actor: str, note: str = ""
    ) -> None:
        note = check_text(note, "note", 300)
        now = self.clock()
        async with self._store() as tx:
            case = await self._case(tx, case_id, scope)
            check_move(case.state, target)
            if not await tx.move(case.id, case.state, target, at=now):
                raise InvalidInput("the case changed meanwhile; reload the page")
            if target is State.CLOSED:
                await tx.set_contact(case.id, None)
            await tx.add_event(case.id, at=now, actor=actor, action=target.value, detail=note)
            await tx.audit(actor=actor, action=f"support_{target.value}", at=now, detail=f"case {case.id}")
            await tx.commit()

    async def answer(self, case_id: int, scope: Scope | None, *, actor: str, message: str) -> None:
        body = check_text(message)
        if not body:
            raise InvalidInput("the message is empty")
        now = self.clock()
        async with self._store() as tx:
            case = await self._case(tx, case_id, scope)
            await tx.add_message(case.id, at=now, author="staff", body=body, sealer=self._message_sealer())
            await tx.add_event(case.id, at=now, actor=actor, action="answered", detail="")
            await tx.commit()

    async def refer(
        self, case_id: int, provider_id: int, kinds: Sequence[str], scope: Scope | None, *, actor: str
    ) -> int:
        chosen = check_kinds(kinds, self.content.kind_codes())
        now = self.clock()
        async with self._store() as tx:
            case = await self._case(tx, case_id, scope)
            if case.state not in (State.ASSESSED, State.REFERRED, State.SERVICE_RECEIVED):
                raise InvalidInput("assess the needs before referring")
            if await tx.provider(provider_id) is None:
                raise InvalidInput("no such service provider")
            ref = await tx.add_referral(case.id, provider_id, chosen, at=now)
            if case.state is not State.REFERRED:
                await tx.move(case.id, case.state, State.REFERRED, at=now)
            await tx.add_event(
                case.id, at=now, actor=actor, action="referred", detail=f"{provider_id} {','.join(chosen)}"
            )
            await tx.audit(actor=actor, action="support_referred", at=now, detail=f"case {case.id}")
            await tx.commit()
            return ref  # type: ignore[no-any-return]

    async def referral_outcome(
        self, case_id: int, referral_id: int, outcome: ReferralOutcome, scope: Scope | None, *, actor: str
    ) -> None:
        now = self.clock()
        async with self._store() as tx:
            case = await self._case(tx, case_id, scope)
            if not await tx.set_outcome(case.id, referral_id, outcome.value, at=now):
                raise InvalidInput("no open referral with that number on this case")
            target = {
                ReferralOutcome.RECEIVED: State.SERVICE_RECEIVED,
                ReferralOutcome.DECLINED: State.DECLINED,
                ReferralOutcome.UNREACHABLE: State.UNREACHABLE,
            }[outcome]
            if outcome is ReferralOutcome.RECEIVED:
                await tx.mark_served(case.id)
            if case.state is State.REFERRED and not await tx.open_referrals(case.id):
                await tx.move(case.id, case.state, target, at=now)
            await tx.add_event(
                case.id, at=now, actor=actor, action=f"referral_{outcome.value}", detail=str(referral_id)
            )
            await tx.commit()

    async def overdue(self, scope: Scope | None) -> list[SupportCase]:
        """Cases past their first-contact deadline with no contact yet."""
        now = self.clock()
        return [
            c
            for c in await self.cases(scope, State.RECEIVED)
            if c.first_contact_at is None and c.first_contact_due < now
        ]

    # --- directory, training, activities -----------------------------------------------

    async def import_providers(self, rows: Sequence[Provider]) -> tuple[int, int]:
        known = self.content.kind_codes()
        rows = [replace(row, kinds=check_kinds(row.kinds, known), name=row.name.strip()) for row in rows]
        for row in rows:
            if not row.name or len(row.name) > 200:
                raise InvalidInput("a provider needs a name of at most 200 characters")
        async with self._store() as tx:
            added = await tx.add_providers(rows)
            await tx.commit()
        return added, len(rows) - added

    async def update_provider(self, provider: Provider, *, actor: str) -> None:
        provider = replace(provider, kinds=check_kinds(provider.kinds, self.content.kind_codes()))
        if not provider.name.strip() or len(provider.name) > 200:
            raise InvalidInput("a provider needs a name of at most 200 characters")
        async with self._store() as tx:
            if not await tx.update_provider(provider):
                raise NotFound("no such service provider")
            await tx.audit(actor=actor, action="support_provider", at=self.clock(), detail=str(provider.id))
            await tx.commit()

    async def providers(self) -> list[Provider]:
        async with self._store() as tx:
            return list(await tx.providers())

    async def add_training(self, session: TrainingSession, *, actor: str, area: str | None = None) -> int:
        """Record a session; a commune's officer records only its own agencies' (area)."""
        check_training(session)
        check_in_area([session.agency_code, *session.participants], area)
        async with self._store() as tx:
            new_id = await tx.add_training(session, by=actor)
            await tx.audit(actor=actor, action="training_add", at=self.clock(), detail=str(new_id))
            await tx.commit()
            return new_id  # type: ignore[no-any-return]

    async def trainings(self, area: str | None) -> list[TrainingRecord]:
        """The newest sessions (at most 500) an officer of the area sees: its agencies' own."""
        async with self._store() as tx:
            return list(await tx.trainings(area))

    async def delete_training(self, session_id: int, *, actor: str, area: str | None = None) -> None:
        async with self._store() as tx:
            if not await tx.delete_training(session_id, area):
                raise NotFound("no such training session")
            await tx.audit(actor=actor, action="training_delete", at=self.clock(), detail=str(session_id))
            await tx.commit()

    async def set_staff(
        self, agency: str, level: Level, staff: int, *, actor: str, area: str | None = None
    ) -> None:
        if not 0 <= staff <= 1_000_000:
            raise InvalidInput("a staff count is between 0 and 1000000")
        if not agency.strip() or len(agency) > 40:
            raise InvalidInput("an agency code is 1 to 40 characters")
        check_in_area([agency], area)
        async with self._store() as tx:
            await tx.set_staff(agency, level.value, staff)
            await tx.audit(
                actor=actor, action="staff_count", at=self.clock(), detail=f"{agency} {level} {staff}"
            )
            await tx.commit()

    async def staff_counts(self, area: str | None) -> list[StaffCount]:
        async with self._store() as tx:
            return list(await tx.staff_counts(area))

    async def add_activity(self, activity: Activity, *, actor: str, area: str | None = None) -> int:
        """Record an offline activity; a commune's officer records only its own commune's."""
        check_activity(activity)
        if area is not None and activity.commune_code != area:
            raise InvalidInput(f"the commune {activity.commune_code!r} is not yours")
        async with self._store() as tx:
            if not await tx.commune_exists(activity.commune_code, self.province_code):
                raise InvalidInput(f"unknown commune {activity.commune_code!r}")
            new_id = await tx.add_activity(activity, by=actor)
            await tx.audit(actor=actor, action="activity_add", at=self.clock(), detail=str(new_id))
            await tx.commit()
            return new_id  # type: ignore[no-any-return]

    async def activities(self, area: str | None) -> list[ActivityRecord]:
        """The newest offline activities (at most 500) of the area."""
        async with self._store() as tx:
            return list(await tx.activities(area))

    async def delete_activity(self, activity_id: int, *, actor: str, area: str | None = None) -> None:
        async with self._store() as tx:
            if not await tx.delete_activity(activity_id, area):
                raise NotFound("no such outreach activity")
            await tx.audit(actor=actor, action="activity_delete", at=self.clock(), detail=str(activity_id))
            await tx.commit()

    # --- counting ----------------------------------------------------------------------

    async def ratios(self, period: Period, area: str | None) -> Mapping[str, Ratio]:
        async with self._store() as tx:
            return await tx.ratios(period, area, self.province_code)  # type: ignore[no-any-return]

    async def tallies(self, period: Period, area: str | None) -> dict[str, Any]:
        """Support cases by kind of help and by state; training and outreach totals, for the report."""
        async with self._store() as tx:
            return await tx.tallies(period, area, self.province_code)  # type: ignore[no-any-return]

    def register_indicators(self, registry: IndicatorRegistry) -> None:
        registry.add(SPECS, self.ratios)


def _allows(scope: Scope, case: SupportCase) -> bool:
    if scope.everything:
        return True
    if case.commune_code is None:
        return scope.commune_code is None and scope.province_code == case.province_code
    return scope.allows(case.commune_code, case.province_code)


def _context(case_id: int) -> bytes:
    """Binds a sealed contact to its case: it cannot be pasted onto another."""
    return f"support_case:{case_id}".encode()
