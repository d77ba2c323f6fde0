"""SQL behind the establishments register (core/establishment_service.py): one
`SqlEstablishmentStore` per transaction.

Imports insert with `ON CONFLICT DO NOTHING` on the establishment's identity (commune,
name and address match keys), so a file imported twice adds nothing and two imports at
once cannot add a place twice. Hotspot moves are conditional UPDATEs on the state read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.establishment_service import ListQuery
from core.establishments import (
    CommuneCount,
    Establishment,
    EstablishmentDraft,
    Hotspot,
    HotspotDraft,
    HotspotEvent,
    HotspotState,
    Inspection,
    InspectionDraft,
    LinkedTip,
    Outcome,
    Scope,
    Status,
)
from core.indicators import Ratio
from core.jurisdiction import Jurisdiction
from core.kpi import Period
from core.tips import Tip
from storage.establishment_tables import (
    EstablishmentEventRow,
    EstablishmentRow,
    HotspotEventRow,
    HotspotRow,
    IndicatorTargetRow,
    InspectionRow,
    TipEstablishmentRow,
)
from storage.mapping import from_row
from storage.models import AreaRow, AuditRow, TipRow
from storage.repositories import SqlTipRepository
from storage.sealed import KeySource, TipCipher
from storage.types import UTCDateTime

Sessions = async_sessionmaker[AsyncSession]
E = EstablishmentRow
H = HotspotRow
#: Rows per INSERT statement of an import (parameters stay well under both databases' limits).
CHUNK = 2000
#: Columns of an import and their PostgreSQL types, for `SqlEstablishmentStore._add_unnest`.
_ARRAY_TYPES = {
    "name": "text", "kind": "text", "address": "text", "commune_code": "text", "province_code": "text",
    "licence": "text", "status": "text", "commitment_date": "date", "name_key": "text", "address_key": "text",
    "created_by": "text", "closed_on": "date", "last_inspected": "date",
}  # fmt: skip
OPEN_HOTSPOT = (HotspotState.DETECTED.value, HotspotState.DEALING.value, HotspotState.RETURNED.value)


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def scope_where(scope: Scope, province: Any, commune: Any) -> list[sa.ColumnElement[bool]]:
    """The SQL form of `Scope.allows` for a table's province and commune columns."""
    if scope.everything and scope.commune_code is None:
        return []
    out: list[sa.ColumnElement[bool]] = []
    if scope.province_code is not None:
        out.append(province == scope.province_code)
    if scope.commune_code is not None:
        out.append(commune == scope.commune_code)
    return out or [sa.false()]


def establishment_from_row(row: EstablishmentRow, recent_tips: int = 0) -> Establishment:
    return from_row(Establishment, row, recent_tips=recent_tips)


def _hotspot(row: HotspotRow) -> Hotspot:
    return from_row(Hotspot, row)


def _values(draft: EstablishmentDraft, province: str, by: str, at: datetime) -> dict[str, Any]:
    return {
        "name": draft.name,
        "kind": draft.kind.value,
        "address": draft.address,
        "commune_code": draft.commune_code,
        "province_code": province,
        "licence": draft.licence,
        "status": draft.status.value,
        "commitment_date": draft.commitment_date,
        "name_key": draft.identity[1],
        "address_key": draft.identity[2],
        "created_at": at,
        "created_by": by,
        "closed_on": at.date() if draft.status is Status.CLOSED else None,
        "last_inspected": None,
    }


class SqlEstablishmentStore:
    def __init__(self, session: AsyncSession, cipher: TipCipher) -> None:
        self.session = session
        self.cipher = cipher

    async def commit(self) -> None:
        await self.session.commit()

    async def audit(
        self, *, actor: str, action: str, at: datetime, detail: str = "", tip_id: int | None = None
    ) -> None:
        self.session.add(AuditRow(actor=actor, action=action, tip_id=tip_id, at=at, detail=detail))
        await self.session.flush()

    async def commune_province(self, codes: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(codes), CHUNK):
            rows = await self.session.execute(
                sa.select(AreaRow.code, AreaRow.province_code).where(
                    AreaRow.code.in_(codes[start : start + CHUNK]), AreaRow.level == "commune"
                )
            )
            found.update({code: province for code, province in rows if province})
        return found

    async def commune_names(self, scope: Scope, province_code: str) -> list[tuple[str, str]]:
        """(code, name) of the communes and wards the scope covers, in name order."""
        where = [AreaRow.level == "commune"]
        if scope.commune_code is not None:
            where.append(AreaRow.code == scope.commune_code)
        else:
            where.append(AreaRow.province_code == (scope.province_code or province_code))
        rows = await self.session.execute(
            sa.select(AreaRow.code, AreaRow.name).where(*where).order_by(AreaRow.search_name, AreaRow.code)
        )
        return [(code, " ".join(name.split())) for code, name in rows]

    async def add(self, draft: EstablishmentDraft, province: str, *, by: str, at: datetime) -> int | None:
        stmt = _insert(self.session, E).values(**_values(draft, province, by, at))
        new_id = await self.session.scalar(stmt.on_conflict_do_nothing().returning(E.id))
        return None if new_id is None else int(new_id)

    async def add_many(
        self, drafts: Sequence[tuple[EstablishmentDraft, str]], *, by: str, at: datetime
    ) -> int:
        added = 0
        postgres = self.session.get_bind().dialect.name == "postgresql"
        for start in range(0, len(drafts), CHUNK):
            values = [_values(d, p, by, at) for d, p in drafts[start : start + CHUNK]]
            if postgres:
                ids = await self._add_unnest(values, at)
            else:  # SQLite: one statement with many parameter sets (SQLAlchemy's insertmanyvalues)
                stmt = _insert(self.session, E).on_conflict_do_nothing().returning(E.id)
                ids = list(await self.session.scalars(stmt, values))
            if ids:  # their history's first line, written by the database in one statement
                ev = EstablishmentEventRow
                await self.session.execute(
                    sa.insert(ev).from_select(
                        [ev.establishment_id, ev.at, ev.actor, ev.action, ev.detail],
                        sa.select(
                            E.id,
                            sa.literal(at, UTCDateTime()),
                            sa.literal(by, sa.String()),
                            sa.literal("imported", sa.String()),
                            sa.literal("", sa.Text()),
                        ).where(E.id.in_(ids)),
                    )
                )
            added += len(ids)
        return added

    async def _add_unnest(self, values: list[dict[str, Any]], at: datetime) -> list[int]:
        """PostgreSQL: the chunk as one array per column, `unnest`ed into one INSERT (the
        usual bulk form: one statement, one plan, no per-row parameters)."""
        arrays = list(_ARRAY_TYPES)
        unnest = ", ".join(f"CAST(:{c} AS {t}[])" for c, t in _ARRAY_TYPES.items())
        sql = sa.text(  # column names and types are this module's constants, never input
            f"INSERT INTO establishments ({', '.join(arrays)}, created_at) "  # noqa: S608
            f"SELECT u.*, :created_at FROM unnest({unnest}) AS u ({', '.join(arrays)}) "
            "ON CONFLICT DO NOTHING RETURNING id"
        ).bindparams(sa.bindparam("created_at", type_=UTCDateTime()))
        params: dict[str, Any] = {c: [v[c] for v in values] for c in arrays}
        params["created_at"] = at
        return [int(i) for i in await self.session.scalars(sql, params)]

    async def get(self, establishment_id: int, scope: Scope) -> Establishment | None:
        row = await self.session.scalar(
            sa.select(E).where(E.id == establishment_id, *scope_where(scope, E.province_code, E.commune_code))
        )
        return None if row is None else establishment_from_row(row)

    async def find(self, scope: Scope, query: ListQuery, due_before: date) -> Sequence[Establishment]:
        where = scope_where(scope, E.province_code, E.commune_code)
        if query.kind:
            where.append(E.kind == query.kind)
        if query.q:
            where.append(
                sa.or_(
                    E.name_key.contains(query.q, autoescape=True),
                    E.address_key.contains(query.q, autoescape=True),
                )
            )
        if query.due:
            where.append(E.status != Status.CLOSED.value)
            where.append(sa.or_(E.last_inspected.is_(None), E.last_inspected <= due_before))
        if query.after_id is not None:
            where.append(E.id > query.after_id)
        rows = await self.session.scalars(sa.select(E).where(*where).order_by(E.id).limit(query.limit))
        return [establishment_from_row(r) for r in rows]

    async def export_rows(self, scope: Scope) -> Sequence[Establishment]:
        rows = await self.session.scalars(
            sa.select(E)
            .where(*scope_where(scope, E.province_code, E.commune_code))
            .order_by(E.commune_code, E.id)
        )
        return [establishment_from_row(r) for r in rows]

    async def add_inspection(
        self, establishment_id: int, draft: InspectionDraft, *, by: str, at: datetime
    ) -> Inspection:
        row = InspectionRow(
            establishment_id=establishment_id,
            inspected_on=draft.on,
            outcome=draft.outcome.value,
            team=draft.team,
            violation=draft.violation,
            fine_vnd=draft.fine_vnd,
            notes=draft.notes,
            created_by=by,
            created_at=at,
        )
        self.session.add(row)
        await self.session.flush()
        later = sa.or_(E.last_inspected.is_(None), E.last_inspected < draft.on)
        await self.session.execute(
            sa.update(E).where(E.id == establishment_id, later).values(last_inspected=draft.on)
        )
        if draft.outcome is Outcome.CLOSED:
            await self.session.execute(
                sa.update(E)
                .where(E.id == establishment_id, E.status != Status.CLOSED.value)
                .values(status=Status.CLOSED.value, closed_on=draft.on)
            )
        return _inspection(row)

    async def inspections(self, establishment_id: int) -> Sequence[Inspection]:
        rows = await self.session.scalars(
            sa.select(InspectionRow)
            .where(InspectionRow.establishment_id == establishment_id)
            .order_by(InspectionRow.inspected_on.desc(), InspectionRow.id.desc())
        )
        return [_inspection(r) for r in rows]

    async def history(self, establishment_id: int) -> Sequence[tuple[datetime, str, str, str]]:
        rows = await self.session.execute(
            sa.select(
                EstablishmentEventRow.at,
                EstablishmentEventRow.actor,
                EstablishmentEventRow.action,
                EstablishmentEventRow.detail,
            )
            .where(EstablishmentEventRow.establishment_id == establishment_id)
            .order_by(EstablishmentEventRow.id)
        )
        return [(at, actor, action, detail) for at, actor, action, detail in rows]

    async def event(
        self, establishment_id: int, *, actor: str, action: str, at: datetime, detail: str
    ) -> None:
        self.session.add(
            EstablishmentEventRow(
                establishment_id=establishment_id, at=at, actor=actor, action=action, detail=detail
            )
        )
        await self.session.flush()

    async def tip(self, tip_id: int, within: Jurisdiction) -> Tip:
        return await SqlTipRepository(self.session, self.cipher).get(tip_id, within)

    async def link(self, tip: Tip, establishment_id: int, *, by: str, at: datetime) -> bool:
        stmt = _insert(self.session, TipEstablishmentRow).values(
            tip_id=tip.id,
            establishment_id=establishment_id,
            tip_received_at=tip.received_at,
            linked_at=at,
            linked_by=by,
        )
        result = await self.session.execute(stmt.on_conflict_do_nothing())
        return bool(getattr(result, "rowcount", 0))

    async def linked_tips(self, establishment_id: int) -> Sequence[LinkedTip]:
        link = TipEstablishmentRow
        rows = await self.session.execute(
            sa.select(link.tip_id, link.tip_received_at, TipRow.category, link.linked_by, link.linked_at)
            .join(TipRow, TipRow.id == link.tip_id)
            .where(link.establishment_id == establishment_id)
            .order_by(link.tip_received_at.desc())
            .limit(500)
        )
        return [LinkedTip(*row) for row in rows]

    async def links_of(self, tip_id: int, scope: Scope) -> Sequence[Establishment]:
        rows = await self.session.scalars(
            sa.select(E)
            .join(TipEstablishmentRow, TipEstablishmentRow.establishment_id == E.id)
            .where(TipEstablishmentRow.tip_id == tip_id, *scope_where(scope, E.province_code, E.commune_code))
            .order_by(E.id)
        )
        return [establishment_from_row(r) for r in rows]

    async def candidates(
        self, scope: Scope, names: Sequence[str], commune_code: str | None, limit: int
    ) -> Sequence[Establishment]:
        match = sa.or_(*(E.name_key.contains(n, autoescape=True) for n in names[:10] if n))
        here = sa.case((E.commune_code == (commune_code or ""), 0), else_=1)
        rows = await self.session.scalars(
            sa.select(E)
            .where(match, *scope_where(scope, E.province_code, E.commune_code))
            .order_by(here, E.id)
            .limit(limit)
        )
        return [establishment_from_row(r) for r in rows]

    async def needing_inspection(
        self, scope: Scope, since: datetime, needed: int
    ) -> Sequence[tuple[Establishment, int]]:
        link = TipEstablishmentRow
        counts = (
            sa.select(link.establishment_id, sa.func.count().label("n"))
            .where(link.tip_received_at > since)
            .group_by(link.establishment_id)
            .having(sa.func.count() >= needed)
            .subquery()
        )
        rows = await self.session.execute(
            sa.select(E, counts.c.n)
            .join(counts, counts.c.establishment_id == E.id)
            .where(E.status != Status.CLOSED.value, *scope_where(scope, E.province_code, E.commune_code))
            .order_by(counts.c.n.desc(), E.id)
            .limit(200)
        )
        return [(establishment_from_row(row, int(n)), int(n)) for row, n in rows]

    # --- hotspots -------------------------------------------------------------------------

    async def add_hotspot(self, draft: HotspotDraft, province: str, *, by: str, at: datetime) -> int:
        row = HotspotRow(
            name=draft.name,
            kind=draft.kind.value,
            commune_code=draft.commune_code,
            province_code=province,
            description=draft.description,
            establishment_id=draft.establishment_id,
            state=HotspotState.DETECTED.value,
            detected_at=at,
            eliminated_at=None,
            returns=0,
            created_by=by,
            updated_at=at,
        )
        self.session.add(row)
        await self.session.flush()
        self.session.add(
            HotspotEventRow(
                hotspot_id=row.id,
                at=at,
                from_state=None,
                to_state=HotspotState.DETECTED.value,
                actor=by,
                tip_id=None,
                note="",
            )
        )
        await self.session.flush()
        return int(row.id)

    async def hotspot(self, hotspot_id: int, scope: Scope) -> Hotspot | None:
        row = await self.session.scalar(
            sa.select(H)
            .where(H.id == hotspot_id, *scope_where(scope, H.province_code, H.commune_code))
            .execution_options(populate_existing=True)
        )
        return None if row is None else _hotspot(row)

    async def hotspots(self, scope: Scope, *, establishment_id: int | None = None) -> Sequence[Hotspot]:
        where = scope_where(scope, H.province_code, H.commune_code)
        if establishment_id is not None:
            where.append(H.establishment_id == establishment_id)
        rows = await self.session.scalars(
            sa.select(H).where(*where).order_by(H.returns.desc(), H.id.desc()).limit(500)
        )
        return [_hotspot(r) for r in rows]

    async def move_hotspot(
        self, hotspot: Hotspot, to: HotspotState, *, actor: str, at: datetime, tip_id: int | None, note: str
    ) -> bool:
        values: dict[str, Any] = {"state": to.value, "updated_at": at}
        if to is HotspotState.ELIMINATED:
            values["eliminated_at"] = at
        if to is HotspotState.RETURNED:
            values["returns"] = H.returns + 1
        result = await self.session.execute(
            sa.update(H).where(H.id == hotspot.id, H.state == hotspot.state.value).values(**values)
        )
        if not getattr(result, "rowcount", 0):
            return False
        self.session.add(
            HotspotEventRow(
                hotspot_id=hotspot.id,
                at=at,
                from_state=hotspot.state.value,
                to_state=to.value,
                actor=actor,
                tip_id=tip_id,
                note=note,
            )
        )
        await self.session.flush()
        return True

    async def hotspot_events(self, hotspot_id: int) -> Sequence[HotspotEvent]:
        rows = await self.session.scalars(
            sa.select(HotspotEventRow)
            .where(HotspotEventRow.hotspot_id == hotspot_id)
            .order_by(HotspotEventRow.id)
        )
        return [HotspotEvent(r.at, r.from_state, r.to_state, r.actor, r.tip_id, r.note) for r in rows]

    async def hotspot_counts(self, scope: Scope) -> Sequence[CommuneCount]:
        is_open = sa.case((H.state.in_(OPEN_HOTSPOT), 1), else_=0)
        done = sa.case((H.state == HotspotState.ELIMINATED.value, 1), else_=0)
        came_back = sa.case((H.returns > 0, 1), else_=0)
        rows = await self.session.execute(
            sa.select(
                H.commune_code, AreaRow.name, sa.func.sum(is_open), sa.func.sum(done), sa.func.sum(came_back)
            )
            .join(AreaRow, AreaRow.code == H.commune_code)
            .where(*scope_where(scope, H.province_code, H.commune_code))
            .group_by(H.commune_code, AreaRow.name)
            .order_by(AreaRow.name)
        )
        return [
            CommuneCount(code, name, int(o or 0), int(d or 0), int(r or 0)) for code, name, o, d, r in rows
        ]

    # --- indicators -----------------------------------------------------------------------

    async def ratios(self, period: Period, scope: Scope, now: datetime) -> Mapping[str, Ratio]:
        """The five register indicators' counts (definitions in docs/establishments.md)."""
        lo, hi = period.bounds()
        in_scope = scope_where(scope, E.province_code, E.commune_code)
        population = sa.and_(
            E.created_at < hi,
            sa.or_(E.status != Status.CLOSED.value, E.closed_on >= period.start),
            *in_scope,
        )
        inspected = sa.exists().where(
            InspectionRow.establishment_id == E.id,
            InspectionRow.inspected_on >= period.start,
            InspectionRow.inspected_on <= period.end,
        )
        committed = sa.and_(E.commitment_date.is_not(None), E.commitment_date <= period.end)
        one = sa.literal(1)
        row = (
            await self.session.execute(
                sa.select(
                    sa.func.count(),
                    sa.func.coalesce(sa.func.sum(sa.case((inspected, one), else_=0)), 0),
                    sa.func.coalesce(sa.func.sum(sa.case((committed, one), else_=0)), 0),
                ).where(population)
            )
        ).one()
        listed = (
            await self.session.execute(
                sa.select(
                    sa.func.count(),
                    sa.func.coalesce(
                        sa.func.sum(sa.case((E.status == Status.MANAGED.value, one), else_=0)), 0
                    ),
                ).where(E.created_at < hi, E.status != Status.CLOSED.value, *in_scope)
            )
        ).one()
        ev = HotspotEventRow
        h_scope = scope_where(scope, H.province_code, H.commune_code)
        eliminated_by_end = sa.exists().where(ev.hotspot_id == H.id, ev.to_state == "eliminated", ev.at < hi)
        returned_in = sa.exists().where(
            ev.hotspot_id == H.id, ev.to_state == "returned", ev.at >= lo, ev.at < hi
        )
        spots = (
            await self.session.execute(
                sa.select(
                    sa.func.count(),
                    sa.func.coalesce(sa.func.sum(sa.case((eliminated_by_end, one), else_=0)), 0),
                ).where(H.detected_at >= lo, H.detected_at < hi, *h_scope)
            )
        ).one()
        back = (
            await self.session.execute(
                sa.select(
                    sa.func.count(),
                    sa.func.coalesce(sa.func.sum(sa.case((returned_in, one), else_=0)), 0),
                ).where(eliminated_by_end, *h_scope)
            )
        ).one()
        return {
            "establishments_listed": Ratio(int(listed[1]), int(listed[0])),
            "establishments_inspected": Ratio(int(row[1]), int(row[0])),
            "establishments_committed": Ratio(int(row[2]), int(row[0])),
            "hotspots_eliminated": Ratio(int(spots[1]), int(spots[0])),
            "hotspots_returned": Ratio(int(back[1]), int(back[0])),
        }

    async def targets(self, area: str | None) -> dict[str, float]:
        rows = await self.session.execute(
            sa.select(IndicatorTargetRow.indicator, IndicatorTargetRow.target).where(
                IndicatorTargetRow.area_code == (area or "")
            )
        )
        return {name: float(target) for name, target in rows}

    async def set_target(self, name: str, area: str | None, target: float, *, by: str, at: datetime) -> None:
        values = {"indicator": name, "area_code": area or "", "target": target, "set_by": by, "set_at": at}
        stmt = _insert(self.session, IndicatorTargetRow).values(**values)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["indicator", "area_code"], set_={"target": target, "set_by": by, "set_at": at}
            )
        )


def _inspection(row: InspectionRow) -> Inspection:
    return from_row(Inspection, row, on=row.inspected_on, by=row.created_by, at=row.created_at)


def establishment_store(sessions: Sessions, keys: KeySource) -> Any:
    """The store factory the service takes: one session (transaction) per `async with`;
    `keys` opens the tips it shows."""
    cipher = TipCipher(keys)

    @asynccontextmanager
    async def opened() -> AsyncIterator[SqlEstablishmentStore]:
        async with sessions() as session:
            yield SqlEstablishmentStore(session, cipher)

    return opened
