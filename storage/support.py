"""SQL behind support cases, the service directory, training and offline outreach
(core/support_service.py): one `SqlSupportStore` per transaction. State moves are
conditional UPDATEs on the state read, so two workers cannot both move a case."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.establishments import Scope
from core.indicators import Ratio
from core.kpi import Period
from core.support import (
    Activity,
    ActivityRecord,
    CaseEvent,
    CasePage,
    Level,
    Message,
    Provider,
    Referral,
    ReferralOutcome,
    Sealer,
    StaffCount,
    State,
    SupportCase,
    TrainingRecord,
    TrainingSession,
)
from storage.mapping import from_row
from storage.models import AreaRow, AuditRow, ChatSubscriberRow, OutreachDeliveryRow
from storage.sealed import support_message_context
from storage.support_tables import (
    OutreachActivityRow,
    StaffCountRow,
    SupportCaseRow,
    SupportEventRow,
    SupportMessageRow,
    SupportProviderRow,
    SupportReferralRow,
    TrainingAttendanceRow,
    TrainingSessionRow,
)

Sessions = async_sessionmaker[AsyncSession]
C = SupportCaseRow


def _split(text: str) -> tuple[str, ...]:
    return tuple(p for p in text.split(",") if p)


def _body(row: SupportMessageRow, sealer: Sealer | None) -> str:
    if row.body_sealed is None:
        return row.body
    if sealer is None:
        return ""
    return sealer.open(row.body_sealed, support_message_context(row.case_id, row.id).encode()).decode()


def _case(row: SupportCaseRow) -> SupportCase:
    return from_row(SupportCase, row, kinds=_split(row.kinds), has_contact=row.contact_sealed is not None)


def _provider(row: SupportProviderRow) -> Provider:
    return from_row(Provider, row, kinds=_split(row.kinds), communes=_split(row.communes))


def _area_where(area: str | None, province: str, commune_col: Any, province_col: Any | None) -> list[Any]:
    if area is None or len(area) == 2:
        return [province_col == (area or province)] if province_col is not None else []
    return [commune_col == area]


class SqlSupportStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def commit(self) -> None:
        await self.session.commit()

    async def audit(self, *, actor: str, action: str, at: datetime, detail: str = "") -> None:
        self.session.add(AuditRow(actor=actor, action=action, tip_id=None, at=at, detail=detail))
        await self.session.flush()

    async def commune_exists(self, code: str, province: str) -> bool:
        found = await self.session.scalar(
            sa.select(AreaRow.code).where(
                AreaRow.code == code, AreaRow.level == "commune", AreaRow.province_code == province
            )
        )
        return found is not None

    # --- cases ---------------------------------------------------------------------------

    async def add_case(
        self,
        *,
        code: str,
        passphrase_hash: str,
        commune: str | None,
        province: str,
        kinds: Sequence[str],
        at: datetime,
        due: datetime,
    ) -> int:
        row = C(
            receipt_code=code,
            passphrase_hash=passphrase_hash,
            commune_code=commune,
            province_code=province,
            kinds=",".join(kinds),
            state=State.RECEIVED.value,
            assessed=False,
            served=False,
            received_at=at,
            first_contact_due=due,
        )
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def set_contact(self, case_id: int, sealed: bytes | None) -> None:
        await self.session.execute(sa.update(C).where(C.id == case_id).values(contact_sealed=sealed))

    async def contact(self, case_id: int) -> bytes | None:
        return await self.session.scalar(sa.select(C.contact_sealed).where(C.id == case_id))

    async def add_message(
        self, case_id: int, *, at: datetime, author: str, body: str, sealer: Sealer
    ) -> None:
        """The message sealed by `sealer`, bound to its case and its own id (known once
        the row is inserted): a sealed message moved to another row does not open."""
        row = SupportMessageRow(case_id=case_id, at=at, author=author, body="")
        self.session.add(row)
        await self.session.flush()
        row.body_sealed = sealer.seal(body.encode(), support_message_context(case_id, row.id).encode())
        if author == "staff":
            await self.session.execute(
                sa.update(C).where(C.id == case_id, C.first_contact_at.is_(None)).values(first_contact_at=at)
            )
        await self.session.flush()

    async def add_event(self, case_id: int, *, at: datetime, actor: str, action: str, detail: str) -> None:
        self.session.add(SupportEventRow(case_id=case_id, at=at, actor=actor, action=action, detail=detail))
        await self.session.flush()

    async def case_by_code(self, code: str) -> tuple[SupportCase, str] | None:
        row = await self.session.scalar(sa.select(C).where(C.receipt_code == code))
        return None if row is None else (_case(row), row.passphrase_hash)

    async def case(self, case_id: int) -> SupportCase | None:
        row = await self.session.get(C, case_id)
        return None if row is None else _case(row)

    async def cases(self, scope: Scope, state: State | None) -> list[SupportCase]:
        stmt = sa.select(C).order_by(C.received_at.desc(), C.id.desc()).limit(500)
        if not scope.everything:
            if scope.commune_code is not None:
                stmt = stmt.where(C.commune_code == scope.commune_code)
            elif scope.province_code is not None:
                stmt = stmt.where(C.province_code == scope.province_code)
        if state is not None:
            stmt = stmt.where(C.state == state.value)
        return [_case(r) for r in await self.session.scalars(stmt)]

    async def move(self, case_id: int, current: State, target: State, *, at: datetime) -> bool:
        values: dict[str, Any] = {"state": target.value}
        if target is State.ASSESSED:
            values["assessed"] = True
        if target is State.SERVICE_RECEIVED:
            values["served"] = True
        if target is State.CLOSED:
            values["closed_at"] = at
        if target is not State.RECEIVED:
            values["first_contact_at"] = sa.func.coalesce(C.first_contact_at, at)
        result = await self.session.execute(
            sa.update(C).where(C.id == case_id, C.state == current.value).values(**values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def mark_served(self, case_id: int) -> None:
        await self.session.execute(sa.update(C).where(C.id == case_id).values(served=True))

    async def page(self, case_id: int, sealer: Sealer | None) -> CasePage:
        """The case with its messages opened (a message needs `sealer` to be read)."""
        case = await self.case(case_id)
        assert case is not None
        msgs = await self.session.scalars(
            sa.select(SupportMessageRow)
            .where(SupportMessageRow.case_id == case_id)
            .order_by(SupportMessageRow.id)
        )
        events = await self.session.scalars(
            sa.select(SupportEventRow).where(SupportEventRow.case_id == case_id).order_by(SupportEventRow.id)
        )
        refs = await self.session.execute(
            sa.select(SupportReferralRow, SupportProviderRow.name)
            .join(SupportProviderRow, SupportProviderRow.id == SupportReferralRow.provider_id)
            .where(SupportReferralRow.case_id == case_id)
            .order_by(SupportReferralRow.id)
        )
        return CasePage(
            case,
            [Message(m.at, m.author, _body(m, sealer)) for m in msgs],
            [
                Referral(
                    r.id,
                    r.case_id,
                    r.provider_id,
                    name,
                    _split(r.kinds),
                    r.at,
                    None if r.outcome is None else ReferralOutcome(r.outcome),
                    r.outcome_at,
                )
                for r, name in refs
            ],
            [CaseEvent(e.at, e.actor, e.action, e.detail) for e in events],
        )

    # --- referrals and providers ---------------------------------------------------------

    async def provider(self, provider_id: int) -> Provider | None:
        row = await self.session.get(SupportProviderRow, provider_id)
        return None if row is None else _provider(row)

    async def providers(self) -> list[Provider]:
        rows = await self.session.scalars(sa.select(SupportProviderRow).order_by(SupportProviderRow.name))
        return [_provider(r) for r in rows]

    async def add_providers(self, rows: Sequence[Provider]) -> int:
        known = set(await self.session.scalars(sa.select(SupportProviderRow.name)))
        added = 0
        for p in rows:
            if p.name in known:
                continue
            known.add(p.name)
            self.session.add(
                SupportProviderRow(
                    name=p.name,
                    kinds=",".join(p.kinds),
                    communes=",".join(p.communes),
                    contact=p.contact,
                    free=p.free,
                )
            )
            added += 1
        await self.session.flush()
        return added

    async def update_provider(self, p: Provider) -> bool:
        result = await self.session.execute(
            sa.update(SupportProviderRow)
            .where(SupportProviderRow.id == p.id)
            .values(
                name=p.name,
                kinds=",".join(p.kinds),
                communes=",".join(p.communes),
                contact=p.contact,
                free=p.free,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def add_referral(
        self, case_id: int, provider_id: int, kinds: Sequence[str], *, at: datetime
    ) -> int:
        row = SupportReferralRow(case_id=case_id, provider_id=provider_id, kinds=",".join(kinds), at=at)
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def set_outcome(self, case_id: int, referral_id: int, outcome: str, *, at: datetime) -> bool:
        R = SupportReferralRow
        result = await self.session.execute(
            sa.update(R)
            .where(R.id == referral_id, R.case_id == case_id, R.outcome.is_(None))
            .values(outcome=outcome, outcome_at=at)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def open_referrals(self, case_id: int) -> int:
        R = SupportReferralRow
        found = await self.session.scalar(
            sa.select(sa.func.count()).where(R.case_id == case_id, R.outcome.is_(None))
        )
        return int(found or 0)

    # --- training and activities ---------------------------------------------------------

    async def add_training(self, s: TrainingSession, *, by: str) -> int:
        row = TrainingSessionRow(
            held_on=s.held_on, level=s.level.value, agency_code=s.agency_code, topic=s.topic, created_by=by
        )
        self.session.add(row)
        await self.session.flush()
        for agency, n in s.participants.items():
            self.session.add(TrainingAttendanceRow(session_id=row.id, agency_code=agency, participants=n))
        await self.session.flush()
        return row.id

    async def set_staff(self, agency: str, level: str, staff: int) -> None:
        """One upsert: two officers setting the same count at once both succeed (last wins)."""
        from sqlalchemy.dialects import postgresql, sqlite

        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(StaffCountRow).values(agency_code=agency, level=level, staff=staff)
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=["agency_code", "level"], set_={"staff": staff})
        )

    async def add_activity(self, a: Activity, *, by: str) -> int:
        row = OutreachActivityRow(
            held_on=a.held_on,
            commune_code=a.commune_code,
            kind=a.kind,
            audience=a.audience,
            reached=a.reached,
            created_by=by,
        )
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def trainings(self, area: str | None) -> list[TrainingRecord]:
        S, A = TrainingSessionRow, TrainingAttendanceRow
        stmt = sa.select(S).order_by(S.held_on.desc(), S.id.desc()).limit(500)
        if area is not None:
            stmt = stmt.where(self._visible_training(area))
        sessions = list(await self.session.scalars(stmt))
        people: dict[int, dict[str, int]] = {s.id: {} for s in sessions}
        if sessions:
            for row in await self.session.scalars(
                sa.select(A).where(A.session_id.in_(people)).order_by(A.agency_code)
            ):
                people[row.session_id][row.agency_code] = row.participants
        return [
            TrainingRecord(
                s.id, TrainingSession(s.held_on, Level(s.level), s.agency_code, s.topic, people[s.id])
            )
            for s in sessions
        ]

    def _visible_training(self, area: str) -> Any:
        """A commune sees the sessions its agencies organised or attended."""
        S, A = TrainingSessionRow, TrainingAttendanceRow
        attended = sa.select(A.session_id).where(A.agency_code.like(f"%:{area}"))
        return sa.or_(S.agency_code.like(f"%:{area}"), S.id.in_(attended))

    async def delete_training(self, session_id: int, area: str | None) -> bool:
        S, A = TrainingSessionRow, TrainingAttendanceRow
        where = [S.id == session_id]
        if area is not None:
            where.append(self._visible_training(area))
        if await self.session.scalar(sa.select(S.id).where(*where)) is None:
            return False
        await self.session.execute(sa.delete(A).where(A.session_id == session_id))
        await self.session.execute(sa.delete(S).where(S.id == session_id))
        return True

    async def staff_counts(self, area: str | None) -> list[StaffCount]:
        W = StaffCountRow
        stmt = sa.select(W).order_by(W.agency_code, W.level)
        if area is not None:
            stmt = stmt.where(W.agency_code.like(f"%:{area}"))
        return [StaffCount(r.agency_code, Level(r.level), r.staff) for r in await self.session.scalars(stmt)]

    async def activities(self, area: str | None) -> list[ActivityRecord]:
        OA = OutreachActivityRow
        stmt = sa.select(OA).order_by(OA.held_on.desc(), OA.id.desc()).limit(500)
        if area is not None:
            stmt = stmt.where(OA.commune_code == area)
        return [
            ActivityRecord(r.id, Activity(r.held_on, r.commune_code, r.kind, r.audience, r.reached))
            for r in await self.session.scalars(stmt)
        ]

    async def delete_activity(self, activity_id: int, area: str | None) -> bool:
        OA = OutreachActivityRow
        where = [OA.id == activity_id]
        if area is not None:
            where.append(OA.commune_code == area)
        result = await self.session.execute(sa.delete(OA).where(*where))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # --- counting ------------------------------------------------------------------------

    def _agency_where(self, area: str | None, col: Any) -> list[Any]:
        """Agencies of a commune end with ':<commune code>'; the province counts them all."""
        if area is None or len(area) == 2:
            return []
        return [col.like(f"%:{area}")]

    async def _training(self, period: Period, area: str | None, level: str) -> Ratio:
        S, A = TrainingSessionRow, TrainingAttendanceRow
        trained = await self.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(A.participants), 0))
            .join(S, S.id == A.session_id)
            .where(
                S.level == level,
                S.held_on >= period.start,
                S.held_on <= period.end,
                *self._agency_where(area, A.agency_code),
            )
        )
        staff = await self.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(StaffCountRow.staff), 0)).where(
                StaffCountRow.level == level, *self._agency_where(area, StaffCountRow.agency_code)
            )
        )
        return Ratio(min(int(trained or 0), int(staff or 0)), int(staff or 0))

    async def _active_communes(self, period: Period, area: str | None, province: str) -> Ratio:
        lo, hi = period.bounds()
        if area is not None and len(area) != 2:
            communes = [area]
        else:
            communes = list(
                await self.session.scalars(
                    sa.select(AreaRow.code).where(
                        AreaRow.level == "commune", AreaRow.province_code == (area or province)
                    )
                )
            )
        if not communes:
            return Ratio(0, 0)
        offline = set(
            await self.session.scalars(
                sa.select(OutreachActivityRow.commune_code)
                .where(OutreachActivityRow.held_on >= period.start, OutreachActivityRow.held_on <= period.end)
                .distinct()
            )
        )
        D, S = OutreachDeliveryRow, ChatSubscriberRow
        online = set(
            await self.session.scalars(
                sa.select(S.commune_code)
                .join(D, D.subscriber_id == S.id)
                .where(
                    D.state == "sent", D.finished_at >= lo, D.finished_at < hi, S.commune_code.is_not(None)
                )
                .distinct()
            )
        )
        active = (offline | online) & set(communes)
        return Ratio(len(active), len(communes))

    async def ratios(self, period: Period, area: str | None, province: str) -> Mapping[str, Ratio]:
        lo, hi = period.bounds()
        where = [
            C.received_at >= lo,
            C.received_at < hi,
            *_area_where(area, province, C.commune_code, C.province_code),
        ]
        row = (
            await self.session.execute(
                sa.select(
                    sa.func.count().filter(C.assessed.is_(True)),
                    sa.func.count().filter(C.assessed.is_(True), C.served.is_(True)),
                ).where(*where)
            )
        ).one()
        return {
            "support_received": Ratio(int(row[1]), int(row[0])),
            "staff_trained_province": await self._training(period, area, "province"),
            "staff_trained_commune": await self._training(period, area, "commune"),
            "communes_with_outreach": await self._active_communes(period, area, province),
        }

    async def tallies(self, period: Period, area: str | None, province: str) -> dict[str, Any]:
        lo, hi = period.bounds()
        where = [
            C.received_at >= lo,
            C.received_at < hi,
            *_area_where(area, province, C.commune_code, C.province_code),
        ]
        by_state = dict(
            (s, int(n))
            for s, n in await self.session.execute(
                sa.select(C.state, sa.func.count()).where(*where).group_by(C.state)
            )
        )
        by_kind: dict[str, int] = {}
        for kinds, n in await self.session.execute(
            sa.select(C.kinds, sa.func.count()).where(*where).group_by(C.kinds)
        ):
            for k in _split(kinds):
                by_kind[k] = by_kind.get(k, 0) + int(n)
        R = SupportReferralRow
        by_outcome = dict(
            (o or "open", int(n))
            for o, n in await self.session.execute(
                sa.select(R.outcome, sa.func.count())
                .join(C, C.id == R.case_id)
                .where(*where)
                .group_by(R.outcome)
            )
        )
        S, A = TrainingSessionRow, TrainingAttendanceRow
        training = [
            (lvl, int(sessions), int(people or 0))
            for lvl, sessions, people in await self.session.execute(
                sa.select(S.level, sa.func.count(sa.distinct(S.id)), sa.func.sum(A.participants))
                .join(A, A.session_id == S.id)
                .where(
                    S.held_on >= period.start,
                    S.held_on <= period.end,
                    *self._agency_where(area, A.agency_code),
                )
                .group_by(S.level)
            )
        ]
        OA = OutreachActivityRow
        act_where = [OA.held_on >= period.start, OA.held_on <= period.end]
        if area is not None and len(area) != 2:
            act_where.append(OA.commune_code == area)
        activities = [
            (commune, audience, int(count), int(reached or 0))
            for commune, audience, count, reached in await self.session.execute(
                sa.select(OA.commune_code, OA.audience, sa.func.count(), sa.func.sum(OA.reached))
                .where(*act_where)
                .group_by(OA.commune_code, OA.audience)
                .order_by(OA.commune_code, OA.audience)
            )
        ]
        return {
            "cases_by_state": by_state,
            "cases_by_kind": by_kind,
            "referrals_by_outcome": by_outcome,
            "training": training,
            "activities": activities,
        }


def support_store(sessions: Sessions) -> Any:
    """The store factory the service takes: one session (transaction) per `async with`."""

    @asynccontextmanager
    async def opened() -> AsyncIterator[SqlSupportStore]:
        async with sessions() as session:
            yield SqlSupportStore(session)

    return opened
