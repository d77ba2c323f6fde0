"""SQLAlchemy implementations of the ports in `core.ports`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.areas import Area
from core.categories import Category, Channel
from core.errors import Conflict, DuplicateKey, NotFound
from core.kpi import KpiReport, KpiScope, Period, whole_seconds
from core.messages import AttachmentMeta, Author, Credentials, Message
from core.officers import Officer, Role
from core.sla import DeadlinePolicy, Rule, Unit
from core.stages import TERMINAL, Stage
from core.tips import Tip, TipChange, TipDraft, TransitionRecord, TriageDecision
from storage.kpi_query import DUE, REACHED, compute_kpi
from storage.models import (
    AgencyRow,
    AreaRow,
    AttachmentRow,
    AuditRow,
    OfficerRow,
    PolicyRow,
    RuleRow,
    TipMessageRow,
    TipRow,
    TransitionRow,
    TriageDecisionRow,
)


def tip_from_row(row: TipRow) -> Tip:
    reached = {Stage.RECEIVED: row.received_at}
    for stage in (Stage.VERIFIED, Stage.CLASSIFIED, Stage.PROCESSED):
        value = getattr(row, f"{stage.value}_at")
        if value is not None:
            reached[stage] = value
    return Tip(
        id=row.id,
        receipt_code=row.receipt_code,
        text=row.text,
        channel=Channel(row.channel),
        category=Category(row.category) if row.category else None,
        urgent=row.urgent,
        language=row.language,
        province_code=row.province_code,
        commune_code=row.commune_code,
        remote=row.remote,
        agency_code=row.agency_code,
        stage=Stage(row.stage),
        received_at=row.received_at,
        reached=reached,
        due={
            Stage.VERIFIED: row.verified_due_at,
            Stage.CLASSIFIED: row.classified_due_at,
            Stage.PROCESSED: row.processed_due_at,
        },
        extensions=row.extensions,
        policy_version=row.policy_version,
        version=row.version,
        duplicate_of=row.duplicate_of,
        place=row.place,
        triage=row.triage,
    )


class SqlTipRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        draft: TipDraft,
        *,
        receipt_code: str,
        province_code: str,
        remote: bool,
        agency_code: str,
        received_at: datetime,
        due: dict[Stage, datetime],
        next_due_at: datetime | None,
        at_risk_at: datetime | None,
        policy_version: int,
        passphrase_hash: str | None = None,
        triage: dict[str, Any] | None = None,
    ) -> Tip:
        row = TipRow(
            receipt_code=receipt_code,
            text=draft.text,
            channel=draft.channel.value,
            category=draft.category.value if draft.category else None,
            urgent=draft.urgent,
            language=draft.language,
            place=draft.place,
            occurred_at=draft.occurred_at,
            province_code=province_code,
            commune_code=draft.commune_code,
            remote=remote,
            agency_code=agency_code,
            stage=Stage.RECEIVED.value,
            received_at=received_at,
            verified_due_at=due[Stage.VERIFIED],
            classified_due_at=due[Stage.CLASSIFIED],
            processed_due_at=due[Stage.PROCESSED],
            next_due_at=next_due_at,
            at_risk_at=at_risk_at,
            extensions=0,
            policy_version=policy_version,
            version=1,
            updated_at=received_at,
            passphrase_hash=passphrase_hash,
            triage=triage,
        )
        # No savepoint: a taken receipt code aborts the transaction and the service retries
        # it whole (45 random bits make that almost never happen).
        self.session.add(row)
        try:
            await self.session.flush()
        except IntegrityError as exc:
            if "receipt_code" in str(exc.orig):
                raise DuplicateKey("receipt code taken") from None
            raise
        return tip_from_row(row)

    async def open_texts_since(
        self, *, after_id: int, received_since: datetime, limit: int
    ) -> Sequence[tuple[int, str, datetime]]:
        rows = await self.session.execute(
            sa.select(TipRow.id, TipRow.text, TipRow.received_at)
            .where(
                TipRow.id > after_id,
                TipRow.received_at >= received_since,
                TipRow.stage.not_in([s.value for s in TERMINAL]),
            )
            .order_by(TipRow.id)
            .limit(limit)
        )
        return [(r.id, r.text, r.received_at) for r in rows]

    async def record_decisions(
        self, tip_id: int, decisions: Sequence[TriageDecision], *, actor: str, at: datetime
    ) -> None:
        self.session.add_all(
            TriageDecisionRow(
                tip_id=tip_id, field=d.field, proposed=d.proposed, decided=d.decided, actor=actor, at=at
            )
            for d in decisions
        )
        await self.session.flush()

    async def get(self, tip_id: int) -> Tip:
        row = await self.session.get(TipRow, tip_id, populate_existing=True)
        if row is None:
            raise NotFound(f"no tip {tip_id}")
        return tip_from_row(row)

    async def apply_change(self, tip: Tip, change: TipChange) -> None:
        values: dict[str, Any] = {
            "stage": change.stage.value,
            "category": change.category.value if change.category else None,
            "urgent": change.urgent,
            "agency_code": change.agency_code,
            "next_due_at": change.next_due_at,
            "at_risk_at": change.at_risk_at,
            "extensions": change.extensions,
            "duplicate_of": change.duplicate_of,
            "version": tip.version + 1,
            "updated_at": change.changed_at,
        }
        for stage, column in REACHED.items():
            reached = change.reached.get(stage)
            values[column.key] = reached
            values[f"{stage.value}_secs"] = (
                None if reached is None else whole_seconds(tip.received_at, reached)
            )
        for stage, column in DUE.items():
            values[column.key] = change.due[stage]
        result = await self.session.execute(
            sa.update(TipRow)
            .where(TipRow.id == tip.id, TipRow.version == tip.version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("someone else changed this tip at the same moment; reload it and decide again")

    async def add_history(self, record: TransitionRecord) -> None:
        self.session.add(
            TransitionRow(
                tip_id=record.tip_id,
                action=record.action,
                from_stage=record.from_stage.value if record.from_stage else None,
                to_stage=record.to_stage.value,
                actor=record.actor,
                at=record.at,
                reason=record.reason,
                to_agency=record.to_agency,
                details=dict(record.details),
            )
        )
        await self.session.flush()

    async def history(self, tip_id: int) -> Sequence[TransitionRecord]:
        rows = await self.session.scalars(
            sa.select(TransitionRow)
            .where(TransitionRow.tip_id == tip_id)
            .order_by(TransitionRow.at, TransitionRow.id)
        )
        return [
            TransitionRecord(
                tip_id=r.tip_id,
                action=r.action,
                from_stage=Stage(r.from_stage) if r.from_stage else None,
                to_stage=Stage(r.to_stage),
                actor=r.actor,
                at=r.at,
                reason=r.reason,
                to_agency=r.to_agency,
                details=dict(r.details or {}),
            )
            for r in rows
        ]

    async def kpi(self, period: Period, scope: KpiScope, now: datetime, at_risk_fraction: float) -> KpiReport:
        """See `storage.kpi_query`. `at_risk_fraction` is already folded into the stored
        `at_risk_at`; the port takes it so a fake repository can compute the same thing."""
        del at_risk_fraction
        return await compute_kpi(self.session, period, scope, now)


class SqlAreaRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, code: str) -> Area | None:
        row = await self.session.get(AreaRow, code)
        return None if row is None else area_from_row(row)

    async def communes(self, province_code: str) -> Sequence[Area]:
        rows = await self.session.scalars(
            sa.select(AreaRow)
            .where(AreaRow.province_code == province_code, AreaRow.level == "commune")
            .order_by(AreaRow.search_name, AreaRow.code)
        )
        return [area_from_row(r) for r in rows]


def area_from_row(row: AreaRow) -> Area:
    return Area(
        code=row.code,
        name=row.name,
        level=row.level,
        division_type=row.division_type,
        province_code=row.province_code,
        remote=row.remote,
    )


class SqlPolicyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def current(self) -> DeadlinePolicy:
        version = await self.session.scalar(sa.select(sa.func.max(PolicyRow.version)))
        if version is None:
            raise NotFound("no deadline policy is loaded; run `hotline db upgrade`")
        return await self.version(version)

    async def version(self, version: int) -> DeadlinePolicy:
        rows = (await self.session.scalars(sa.select(RuleRow).where(RuleRow.policy_version == version))).all()
        if not rows:
            raise NotFound(f"no deadline policy version {version}")
        return DeadlinePolicy(version, [Rule(r.key, r.amount, Unit(r.unit), r.note) for r in rows])


class SqlAgencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def exists(self, code: str) -> bool:
        return await self.session.get(AgencyRow, code) is not None


class SqlAuditLog:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self, *, actor: str, action: str, tip_id: int | None, at: datetime, detail: str = ""
    ) -> None:
        self.session.add(AuditRow(actor=actor, action=action, tip_id=tip_id, at=at, detail=detail))
        await self.session.flush()


class SqlOfficerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_username(self, username: str) -> Officer | None:
        row = await self.session.scalar(sa.select(OfficerRow).where(OfficerRow.username == username))
        return None if row is None else officer_from_row(row)

    async def add(
        self, *, username: str, password_hash: str, agency_code: str, area_code: str, role: Role
    ) -> Officer:
        row = OfficerRow(
            username=username,
            password_hash=password_hash,
            agency_code=agency_code,
            area_code=area_code,
            role=role.value,
            active=True,
            failed_logins=0,
            created_at=datetime.now(UTC),
        )
        try:
            async with self.session.begin_nested():
                self.session.add(row)
                await self.session.flush()
        except IntegrityError:
            raise DuplicateKey(f"username {username} is taken") from None
        return officer_from_row(row)


def officer_from_row(row: OfficerRow) -> Officer:
    return Officer(
        id=row.id,
        username=row.username,
        agency_code=row.agency_code,
        area_code=row.area_code,
        role=Role(row.role),
        password_hash=row.password_hash,
        active=row.active,
    )


class SqlConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def credentials(self, receipt_code: str) -> Credentials | None:
        row = (
            await self.session.execute(
                sa.select(TipRow.id, TipRow.passphrase_hash, TipRow.stage, TipRow.received_at).where(
                    TipRow.receipt_code == receipt_code
                )
            )
        ).one_or_none()
        if row is None:
            return None
        return Credentials(row.id, row.passphrase_hash, Stage(row.stage), row.received_at)

    async def add_message(self, tip_id: int, message: Message, *, actor: str) -> None:
        self.session.add(
            TipMessageRow(
                tip_id=tip_id, author=message.author.value, actor=actor, text=message.text, at=message.at
            )
        )
        await self.session.flush()

    async def messages(self, tip_id: int) -> Sequence[Message]:
        rows = await self.session.scalars(
            sa.select(TipMessageRow)
            .where(TipMessageRow.tip_id == tip_id)
            .order_by(TipMessageRow.at, TipMessageRow.id)
        )
        return [Message(Author(r.author), r.text, r.at) for r in rows]

    async def add_attachment(self, tip_id: int, meta: AttachmentMeta) -> None:
        self.session.add(
            AttachmentRow(
                tip_id=tip_id,
                storage_key=meta.storage_key,
                media_type=meta.media_type,
                size_bytes=meta.size_bytes,
                sha256=meta.sha256,
                created_at=meta.created_at,
            )
        )
        await self.session.flush()

    async def attachments(self, tip_id: int) -> Sequence[AttachmentMeta]:
        rows = await self.session.scalars(
            sa.select(AttachmentRow).where(AttachmentRow.tip_id == tip_id).order_by(AttachmentRow.id)
        )
        return [
            AttachmentMeta(r.storage_key, r.media_type, r.size_bytes, r.sha256, r.created_at) for r in rows
        ]


class SqlUnitOfWork:
    """One session, one transaction; rolled back unless committed."""

    tips: SqlTipRepository
    areas: SqlAreaRepository
    policies: SqlPolicyRepository
    agencies: SqlAgencyRepository
    officers: SqlOfficerRepository
    audit: SqlAuditLog
    conversation: SqlConversationRepository

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        self.tips = SqlTipRepository(self.session)
        self.areas = SqlAreaRepository(self.session)
        self.policies = SqlPolicyRepository(self.session)
        self.agencies = SqlAgencyRepository(self.session)
        self.officers = SqlOfficerRepository(self.session)
        self.audit = SqlAuditLog(self.session)
        self.conversation = SqlConversationRepository(self.session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()
