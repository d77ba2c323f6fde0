"""Tips an officer registers for someone: by phone, in person, by letter, from a tip box,
or forwarded by another body. They join the same queue, lifecycle and KPI as every other
tip, with deadlines from when the tip was really received, not from when it was typed in.

A tip received more than `LATE_ENTRY` before it is entered needs a written reason, kept in
its history and shown on its page (the audit log notes that the entry was late), so late
entry cannot hide a late hand-off. An informant who gives their name, phone or address has them stored only
encrypted (core/envelope.py), read only by officers of the owning unit, every read audited.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from core.areas import Area
from core.categories import SELF_SERVICE_CHANNELS, URGENT_BY_NATURE, Category, Channel
from core.envelope import Envelope, Place
from core.errors import DuplicateKey, InvalidInput, NotFound
from core.intake import MAX_TEXT, RECEIPT_ATTEMPTS, Receipt, TipIntake
from core.jurisdiction import Jurisdiction
from core.notifications import notify_for
from core.officers import Officer
from core.passphrases import new_passphrase
from core.ports import UnitOfWork
from core.receipts import new_receipt_code
from core.sla import TipFacts, at_risk_moment
from core.stages import Stage
from core.tips import NewTip, TipDraft, TransitionRecord

#: Received longer ago than this when entered: the entry needs a reason.
LATE_ENTRY = timedelta(hours=24)
#: A clock a few minutes fast (a phone, a wall clock) is not "the future".
CLOCK_SKEW = timedelta(minutes=10)
#: No register the system could meet goes back further than this.
EARLIEST_RECEIPT = datetime(2000, 1, 1, tzinfo=UTC)
#: The channels an officer registers; the others reach the system themselves.
REGISTERED_CHANNELS: frozenset[Channel] = frozenset(Channel) - SELF_SERVICE_CHANNELS
MAX_PLACE = 500
MAX_FORWARDED_BY = 200
MAX_REASON = 2000
MAX_NAME = 200
MAX_PHONE = 40
MAX_ADDRESS = 500
INFORMANT_TABLE = "tip_informants"
INFORMANT_FIELDS = ("name", "phone", "address")


@dataclass(frozen=True)
class Informant:
    """Who gave their name. Every part is optional; all empty is an anonymous tip."""

    name: str | None = None
    phone: str | None = None
    address: str | None = None

    def cleaned(self) -> Informant | None:
        values = {}
        for field, limit in zip(INFORMANT_FIELDS, (MAX_NAME, MAX_PHONE, MAX_ADDRESS), strict=True):
            value = (getattr(self, field) or "").strip()
            if len(value) > limit:
                raise InvalidInput(f"informant {field} is longer than {limit} characters")
            if "\x00" in value:
                raise InvalidInput(f"informant {field} must not contain NUL characters")
            values[field] = value or None
        informant = Informant(**values)
        return None if informant == Informant() else informant


@dataclass(frozen=True)
class SealedInformant:
    """An informant as stored: a wrapped data key and one ciphertext per given value."""

    key_id: str
    wrapped_key: bytes
    name: bytes | None
    phone: bytes | None
    address: bytes | None


def seal_informant(envelope: Envelope, tip_id: int, informant: Informant) -> SealedInformant:
    """Encrypt under a fresh data key, each value bound to (table, tip id, column)."""
    data_key = envelope.new_data_key()
    blobs = {
        field: None
        if getattr(informant, field) is None
        else envelope.encrypt(data_key, getattr(informant, field), Place(INFORMANT_TABLE, tip_id, field))
        for field in INFORMANT_FIELDS
    }
    wrapped = envelope.wrap(data_key, Place(INFORMANT_TABLE, tip_id, "wrapped_key"))
    return SealedInformant(envelope.key_id, wrapped, blobs["name"], blobs["phone"], blobs["address"])


def open_informant(envelope: Envelope, tip_id: int, sealed: SealedInformant) -> Informant:
    data_key = envelope.unwrap(sealed.wrapped_key, Place(INFORMANT_TABLE, tip_id, "wrapped_key"))
    values = {}
    for field in INFORMANT_FIELDS:
        blob: bytes | None = getattr(sealed, field)
        values[field] = (
            None if blob is None else envelope.decrypt(data_key, blob, Place(INFORMANT_TABLE, tip_id, field))
        )
    return Informant(**values)


@dataclass(frozen=True)
class Registration:
    """What the officer wrote down."""

    channel: Channel
    received_at: datetime
    text: str
    place: str | None = None
    commune_code: str | None = None
    category: Category | None = None
    urgent: bool = False
    #: The agency, newspaper or organisation that forwarded the tip (`forwarded` only).
    forwarded_by: str | None = None
    #: Why the tip is entered more than `LATE_ENTRY` after it was received.
    late_reason: str = ""
    informant: Informant | None = None


@dataclass(frozen=True)
class RegistrationRecord:
    """What the tip's page shows about how it came in."""

    tip_id: int
    unit: str
    registered_by: str
    entered_at: datetime
    late_reason: str | None
    forwarded_by: str | None
    external_ref: str | None
    named: bool


def is_late(received_at: datetime, entered_at: datetime) -> bool:
    return entered_at - received_at > LATE_ENTRY


def _clean_text(value: str | None, limit: int, what: str) -> str | None:
    cleaned = (value or "").strip()
    if len(cleaned) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    if "\x00" in cleaned:
        raise InvalidInput(f"{what} must not contain NUL characters")
    return cleaned or None


def check_registration(
    reg: Registration, entered_at: datetime, *, late_needs_reason: bool = True
) -> Registration:
    """The registration cleaned, or InvalidInput saying what to correct."""
    if reg.channel not in REGISTERED_CHANNELS:
        allowed = ", ".join(sorted(c.value for c in REGISTERED_CHANNELS))
        raise InvalidInput(f"channel must be one an officer registers: {allowed}")
    if reg.received_at.tzinfo is None:
        raise InvalidInput("received_at needs a time zone")
    if reg.received_at > entered_at + CLOCK_SKEW:
        raise InvalidInput("received_at lies in the future")
    if reg.received_at < EARLIEST_RECEIPT:
        raise InvalidInput("received_at lies before 2000")
    text = _clean_text(reg.text, MAX_TEXT, "text")
    if text is None:
        raise InvalidInput("text must not be empty")
    forwarded_by = _clean_text(reg.forwarded_by, MAX_FORWARDED_BY, "forwarded_by")
    if reg.channel is Channel.FORWARDED and forwarded_by is None:
        raise InvalidInput("a forwarded tip needs forwarded_by, the body that forwarded it")
    if reg.channel is not Channel.FORWARDED and forwarded_by is not None:
        raise InvalidInput("forwarded_by belongs to forwarded tips only")
    reason = _clean_text(reg.late_reason, MAX_REASON, "late_reason") or ""
    if late_needs_reason and is_late(reg.received_at, entered_at) and not reason:
        raise InvalidInput("a tip received more than 24 hours before entry needs late_reason, the reason")
    return replace(
        reg,
        received_at=reg.received_at.astimezone(UTC),
        text=text,
        place=_clean_text(reg.place, MAX_PLACE, "place"),
        forwarded_by=forwarded_by,
        late_reason=reason,
        informant=reg.informant.cleaned() if reg.informant is not None else None,
    )


class RegistrationRepository(Protocol):
    async def add(self, record: RegistrationRecord) -> None: ...

    async def get(self, tip_id: int) -> RegistrationRecord | None: ...

    async def add_informant(self, tip_id: int, sealed: SealedInformant, at: datetime) -> None: ...

    async def informant(self, tip_id: int) -> SealedInformant | None: ...

    async def forget_informant(self, tip_id: int) -> bool: ...


class RegistrationUnitOfWork(UnitOfWork, Protocol):
    @property
    def registrations(self) -> RegistrationRepository: ...


class RegistrationService:
    """Registering a tip for someone, and the named informant's identity."""

    def __init__(
        self,
        intake: TipIntake,
        uow_factory: Callable[[], RegistrationUnitOfWork],
        envelope: Callable[[], Envelope],
    ) -> None:
        self.intake = intake
        self._uow = uow_factory
        self._envelope = envelope

    async def register(self, reg: Registration, *, officer: Officer, actor: str) -> Receipt:
        """Store the tip in the officer's own unit (routing may move it later like any
        other; misconduct goes to the inspectorate at once) and return its receipt with a
        fresh passphrase for the informant. One transaction: the tip, its history, the
        registration, the sealed identity and the audit entry are written together."""
        intake = self.intake
        entered_at = intake.clock()
        reg = check_registration(reg, entered_at)
        remote = await intake.check_area(reg.commune_code)
        envelope = self._envelope() if reg.informant is not None else None
        passphrase = new_passphrase()
        passphrase_hash = await asyncio.to_thread(intake.hasher.hash, passphrase)
        analysis = intake.triage.analyse([reg.text])[0] if intake.triage is not None else None
        for attempt in range(RECEIPT_ATTEMPTS):
            try:
                tip_id, tip = await self._store(
                    reg, officer, actor, entered_at, remote, passphrase_hash, analysis, envelope
                )
                break
            except DuplicateKey:
                if attempt == RECEIPT_ATTEMPTS - 1:
                    raise
        if intake.triage is not None and analysis is not None:
            intake.triage.remember(tip_id, analysis[1], tip.received_at)
        return Receipt(
            tip_id, tip.receipt_code, Stage.RECEIVED, tip.received_at, tip.draft.urgent, passphrase
        )

    async def _store(
        self,
        reg: Registration,
        officer: Officer,
        actor: str,
        entered_at: datetime,
        remote: bool,
        passphrase_hash: str,
        analysis: tuple[object, object] | None,
        envelope: Envelope | None,
    ) -> tuple[int, NewTip]:
        intake = self.intake
        async with self._uow() as uow:
            policy = await intake.reference.current_policy(uow)
            routing = await intake.reference.routing(uow)
            proposal = None
            if intake.triage is not None and analysis is not None:
                proposal = (await intake.triage.propose_many(uow, [analysis], entered_at))[0][0]  # type: ignore[list-item]
            urgent = reg.urgent or reg.category in URGENT_BY_NATURE or bool(proposal and proposal.urgent)
            due = policy.deadlines(TipFacts(reg.received_at, reg.category, urgent, remote), intake.calendar)
            agency = officer.agency_code
            if reg.category is Category.OFFICIAL_MISCONDUCT:
                agency = routing.owner(reg.category, intake.province_code, reg.commune_code)
            draft = TipDraft(
                text=reg.text,
                channel=reg.channel,
                category=reg.category,
                urgent=urgent,
                commune_code=reg.commune_code,
                place=reg.place,
                language=proposal.language if proposal else None,
            )
            tip = NewTip(
                draft,
                receipt_code=new_receipt_code(),
                province_code=intake.province_code,
                remote=remote,
                agency_code=agency,
                received_at=reg.received_at,
                due=due,
                next_due_at=due[Stage.VERIFIED],
                at_risk_at=at_risk_moment(reg.received_at, due[Stage.VERIFIED], policy.at_risk_fraction),
                policy_version=policy.version,
                passphrase_hash=passphrase_hash,
                triage=proposal.to_dict() if proposal else None,
            )
            (tip_id,) = await uow.tips.add_many([tip])
            late = is_late(reg.received_at, entered_at)
            await uow.registrations.add(
                RegistrationRecord(
                    tip_id=tip_id,
                    unit=officer.agency_code,
                    registered_by=actor,
                    entered_at=entered_at,
                    late_reason=reg.late_reason or None,
                    forwarded_by=reg.forwarded_by,
                    external_ref=None,
                    named=reg.informant is not None,
                )
            )
            if reg.informant is not None and envelope is not None:
                await uow.registrations.add_informant(
                    tip_id, seal_informant(envelope, tip_id, reg.informant), entered_at
                )
            await uow.tips.add_history(
                TransitionRecord(
                    tip_id=tip_id,
                    action="register",
                    from_stage=None,
                    to_stage=Stage.RECEIVED,
                    actor=actor,
                    at=entered_at,
                    reason=reg.late_reason,
                    details={"channel": reg.channel.value, **({"late": "1"} if late else {})},
                )
            )
            await notify_for(uow, tip_id, reg.category, intake.province_code, entered_at)
            # The reason itself stays out of the append-only audit log (it is free text the
            # retention rules must be able to forget); the history and the tip's page keep it.
            detail = f"{reg.channel.value}; late entry" if late else reg.channel.value
            await uow.audit.record(
                actor=actor, action="register", tip_id=tip_id, at=entered_at, detail=detail
            )
            await uow.commit()
        return tip_id, tip

    async def communes(self) -> list[Area]:
        """The province's communes and wards, for the form's list."""
        async with self._uow() as uow:
            return list(await uow.areas.communes(self.intake.province_code))

    async def record(self, tip_id: int, within: Jurisdiction | None) -> RegistrationRecord | None:
        """How a tip came in, for its page (after `TipService.view`, which audits the read)."""
        async with self._uow() as uow:
            await uow.tips.get(tip_id, within)
            return await uow.registrations.get(tip_id)

    async def informant(
        self, tip_id: int, *, officer: Officer, actor: str, within: Jurisdiction
    ) -> Informant:
        """The named informant, for an officer of the tip's owning unit only (NotFound for
        anyone else, as for a tip they may not see); each read is audited first."""
        async with self._uow() as uow:
            tip = await uow.tips.get(tip_id, within)
            sealed = await uow.registrations.informant(tip_id)
            if tip.agency_code != officer.agency_code or sealed is None:
                raise NotFound(f"no named informant for tip {tip_id}")
            await uow.audit.record(
                actor=actor, action="informant_read", tip_id=tip_id, at=self.intake.clock()
            )
            await uow.commit()
        return open_informant(self._envelope(), tip_id, sealed)

    async def forget_informant(self, tip_id: int, *, actor: str) -> bool:
        """Delete the sealed identity (with its wrapped key, nothing can open a copy of
        the ciphertexts): for the retention rules. Audited; False if there was none."""
        async with self._uow() as uow:
            forgotten = await uow.registrations.forget_informant(tip_id)
            if forgotten:
                await uow.audit.record(
                    actor=actor, action="informant_forget", tip_id=tip_id, at=self.intake.clock()
                )
            await uow.commit()
        return forgotten
