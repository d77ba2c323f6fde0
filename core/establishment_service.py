"""Use cases of the establishments register: add and import establishments, record
inspections, link tips (with proposals from the tip's venue and place), find what needs
inspecting, move hotspots through their lifecycle, and count the plan's indicators.

Every read and write is scoped (core.establishments.Scope: another commune's establishment
is "not found") and every write, import, export and page read is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from core.calendar import VN_TZ
from core.errors import Conflict, InvalidInput, NotFound
from core.establishments import (
    DUE_AFTER,
    RECENT_TIPS_NEEDED,
    RECENT_TIPS_WINDOW,
    CommuneCount,
    Establishment,
    EstablishmentDraft,
    Hotspot,
    HotspotDraft,
    HotspotEvent,
    HotspotState,
    Inspection,
    InspectionDraft,
    Kind,
    LinkedTip,
    Outcome,
    Scope,
    Status,
    match_key,
    next_state,
)
from core.indicators import Direction, Indicator, IndicatorRegistry, Ratio, Spec, check_target
from core.jurisdiction import Jurisdiction
from core.kpi import Period
from core.tips import Tip
from core.triage.duplicates import fingerprint
from core.triage.normalise import normalise

Clock = Callable[[], datetime]
#: A page of the register is at most this long.
PAGE = 200
MAX_PROPOSALS = 8

#: The plan indicators this register makes countable, with the provincial plans' targets
#: as defaults (Ninh Thuận: 100 % listed and inspected; Tuyên Quang: 95 %; Sơn La: every
#: establishment signs a commitment; every plan: hotspots eliminated and none returning).
SPECS = (
    Spec("establishments_listed", "Establishments under management", Direction.AT_LEAST, 1.0),
    Spec("establishments_inspected", "Establishments inspected in the period", Direction.AT_LEAST, 0.95),
    Spec("establishments_committed", "Establishments that signed a commitment", Direction.AT_LEAST, 1.0),
    Spec("hotspots_eliminated", "Hotspots detected in the period and eliminated", Direction.AT_LEAST, 1.0),
    Spec("hotspots_returned", "Eliminated hotspots that returned in the period", Direction.AT_MOST, 0.0),
)


@dataclass(frozen=True)
class ImportRow:
    line: int
    draft: EstablishmentDraft


@dataclass(frozen=True)
class EstablishmentPage:
    establishment: Establishment
    inspections: Sequence[Inspection]
    tips: Sequence[LinkedTip]
    hotspots: Sequence[Hotspot]
    history: Sequence[tuple[datetime, str, str, str]]  # at, actor, action, detail


@dataclass(frozen=True)
class ListQuery:
    commune_code: str | None = None
    kind: str | None = None
    q: str | None = None
    due: bool = False
    after_id: int | None = None
    limit: int = 50


class EstablishmentStore(Protocol):
    """One transaction over the register (storage/establishments.py)."""

    async def commune_province(self, codes: Sequence[str]) -> dict[str, str]:
        """Province of each known commune/ward code among `codes`."""
        ...

    async def commune_names(self, scope: Scope, province_code: str) -> list[tuple[str, str]]:
        """(code, name) of the communes the scope covers (admins: the deployment's province)."""
        ...

    async def add(self, draft: EstablishmentDraft, province: str, *, by: str, at: datetime) -> int | None:
        """The new id, or None when the same place (identity) is on the register already."""
        ...

    async def add_many(
        self, drafts: Sequence[tuple[EstablishmentDraft, str]], *, by: str, at: datetime
    ) -> int:
        """Insert those not on the register already; how many were new."""
        ...

    async def get(self, establishment_id: int, scope: Scope) -> Establishment | None: ...

    async def find(self, scope: Scope, query: ListQuery, due_before: date) -> Sequence[Establishment]: ...

    async def export_rows(self, scope: Scope) -> Sequence[Establishment]: ...

    async def add_inspection(
        self, establishment_id: int, draft: InspectionDraft, *, by: str, at: datetime
    ) -> Inspection: ...

    async def inspections(self, establishment_id: int) -> Sequence[Inspection]: ...

    async def history(self, establishment_id: int) -> Sequence[tuple[datetime, str, str, str]]: ...

    async def event(
        self, establishment_id: int, *, actor: str, action: str, at: datetime, detail: str
    ) -> None: ...

    async def tip(self, tip_id: int, within: Jurisdiction) -> Tip: ...

    async def link(self, tip: Tip, establishment_id: int, *, by: str, at: datetime) -> bool: ...

    async def linked_tips(self, establishment_id: int) -> Sequence[LinkedTip]: ...

    async def links_of(self, tip_id: int, scope: Scope) -> Sequence[Establishment]: ...

    async def candidates(
        self, scope: Scope, names: Sequence[str], commune_code: str | None, limit: int
    ) -> Sequence[Establishment]: ...

    async def needing_inspection(
        self, scope: Scope, since: datetime, needed: int
    ) -> Sequence[tuple[Establishment, int]]: ...

    async def add_hotspot(self, draft: HotspotDraft, province: str, *, by: str, at: datetime) -> int: ...

    async def hotspot(self, hotspot_id: int, scope: Scope) -> Hotspot | None: ...

    async def hotspots(self, scope: Scope, *, establishment_id: int | None = None) -> Sequence[Hotspot]: ...

    async def move_hotspot(
        self, hotspot: Hotspot, to: HotspotState, *, actor: str, at: datetime, tip_id: int | None, note: str
    ) -> bool:
        """Move it if it is still in `hotspot.state`; False if someone moved it first."""
        ...

    async def hotspot_events(self, hotspot_id: int) -> Sequence[HotspotEvent]: ...

    async def hotspot_counts(self, scope: Scope) -> Sequence[CommuneCount]: ...

    async def ratios(self, period: Period, scope: Scope, now: datetime) -> Mapping[str, Ratio]: ...

    async def targets(self, area: str | None) -> dict[str, float]: ...

    async def set_target(
        self, name: str, area: str | None, target: float, *, by: str, at: datetime
    ) -> None: ...

    async def audit(
        self, *, actor: str, action: str, at: datetime, detail: str = "", tip_id: int | None = None
    ) -> None: ...

    async def commit(self) -> None: ...


StoreFactory = Callable[[], AbstractAsyncContextManager[EstablishmentStore]]


def venue_names(text: str) -> list[str]:
    """Venue names a tip gives (`Karaoke Hoa Hồng` → `hoa hong`), by triage's own venue
    finder over its normalised text; the kind words are left out so a register entry
    spelt `KS Hoa Hồng` or `Nhà nghỉ Hoa Hồng` matches alike."""
    found = fingerprint(normalise(text[:5000]), frozenset()).venues
    names = []
    for venue in sorted(found):
        words = venue.split()
        for first in ("karaoke", "massage", "nha", "khach", "quan", "bar", "hotel", "homestay", "mat"):
            if words and words[0] == first:
                words = words[2:] if first in ("nha", "khach", "mat") else words[1:]
                break
        if words:
            names.append(" ".join(words))
    return names


class EstablishmentService:
    def __init__(self, store: StoreFactory, *, clock: Clock, province_code: str) -> None:
        self._store = store
        self.clock = clock
        self.province_code = province_code
        #: Other parts of the plan add their sources here (core.indicators).
        self.registry = IndicatorRegistry()
        self.registry.add(SPECS, self._ratios)

    def today(self) -> date:
        return self.clock().astimezone(VN_TZ).date()

    async def communes(self, scope: Scope) -> list[tuple[str, str]]:
        """The communes an officer may pick, by name (pages show names, never codes)."""
        async with self._store() as tx:
            return await tx.commune_names(scope, self.province_code)

    # --- the register ---------------------------------------------------------------------

    async def add(self, draft: EstablishmentDraft, scope: Scope, *, actor: str) -> int:
        draft = draft.checked()
        now = self.clock()
        async with self._store() as tx:
            province = (await tx.commune_province([draft.commune_code])).get(draft.commune_code)
            if province is None or not scope.allows(draft.commune_code, province):
                raise InvalidInput(f"unknown commune {draft.commune_code!r}")
            new_id = await tx.add(draft, province, by=actor, at=now)
            if new_id is None:
                raise InvalidInput("this establishment is on the register already")
            await tx.event(new_id, actor=actor, action="created", at=now, detail=draft.status.value)
            await tx.audit(actor=actor, action="establishment_add", at=now, detail=f"establishment {new_id}")
            await tx.commit()
        return new_id

    async def import_rows(self, rows: Sequence[ImportRow], *, actor: str) -> tuple[int, int]:
        """All or nothing: every row is checked (its commune known) before any is written;
        the first bad one raises InvalidInput naming its line. Rows already on the register
        (same commune, name and address in any spelling) are skipped: (added, skipped)."""
        checked: list[EstablishmentDraft] = []
        for row in rows:
            try:
                checked.append(row.draft.checked())
            except InvalidInput as exc:
                raise InvalidInput(f"line {row.line}: {exc}") from None
        now = self.clock()
        async with self._store() as tx:
            provinces = await tx.commune_province(sorted({d.commune_code for d in checked}))
            for row, draft in zip(rows, checked, strict=True):
                if draft.commune_code not in provinces:
                    raise InvalidInput(f"line {row.line}: unknown commune {draft.commune_code!r}")
            unique: dict[tuple[str, str, str], EstablishmentDraft] = {}
            for draft in checked:
                unique.setdefault(draft.identity, draft)
            added = await tx.add_many(
                [(d, provinces[d.commune_code]) for d in unique.values()], by=actor, at=now
            )
            await tx.audit(
                actor=actor, action="establishment_import", at=now, detail=f"rows {len(rows)} added {added}"
            )
            await tx.commit()
        return added, len(rows) - added

    async def get(self, establishment_id: int, scope: Scope, *, actor: str) -> EstablishmentPage:
        """One establishment with its inspections, tips, hotspots and history; read audited."""
        async with self._store() as tx:
            found = await tx.get(establishment_id, scope)
            if found is None:
                raise NotFound(f"no establishment {establishment_id}")
            page = EstablishmentPage(
                found,
                await tx.inspections(establishment_id),
                await tx.linked_tips(establishment_id),
                await tx.hotspots(scope, establishment_id=establishment_id),
                await tx.history(establishment_id),
            )
            await tx.audit(
                actor=actor,
                action="establishment_view",
                at=self.clock(),
                detail=f"establishment {establishment_id}",
            )
            await tx.commit()
        return page

    async def one(self, establishment_id: int, scope: Scope) -> Establishment:
        """The establishment alone, as a write returns it (the write itself was audited)."""
        async with self._store() as tx:
            found = await tx.get(establishment_id, scope)
        if found is None:
            raise NotFound(f"no establishment {establishment_id}")
        return found

    async def find(self, scope: Scope, query: ListQuery, *, actor: str) -> Sequence[Establishment]:
        if query.kind is not None:
            if query.kind not in Kind.__members__.values():
                raise InvalidInput(f"unknown kind {query.kind!r}")
        q = match_key(query.q) if query.q else None
        query = ListQuery(
            query.commune_code, query.kind, q, query.due, query.after_id, min(query.limit, PAGE)
        )
        due_before = self.today() - DUE_AFTER
        async with self._store() as tx:
            rows = await tx.find(scope.narrowed(query.commune_code), query, due_before)
            await tx.audit(
                actor=actor, action="establishment_list", at=self.clock(), detail="due" if query.due else ""
            )
            await tx.commit()
        return rows

    async def export(self, scope: Scope, *, actor: str) -> Sequence[Establishment]:
        async with self._store() as tx:
            rows = await tx.export_rows(scope)
            await tx.audit(
                actor=actor, action="export", at=self.clock(), detail=f"establishments {len(rows)}"
            )
            await tx.commit()
        return rows

    async def inspect(
        self, establishment_id: int, draft: InspectionDraft, scope: Scope, *, actor: str
    ) -> Inspection:
        """Record an inspection; "closed" closes the establishment."""
        draft = draft.checked(self.today())
        now = self.clock()
        async with self._store() as tx:
            if await tx.get(establishment_id, scope) is None:
                raise NotFound(f"no establishment {establishment_id}")
            done = await tx.add_inspection(establishment_id, draft, by=actor, at=now)
            await tx.event(
                establishment_id, actor=actor, action="inspected", at=now, detail=draft.outcome.value
            )
            await tx.audit(
                actor=actor, action="inspection_add", at=now, detail=f"establishment {establishment_id}"
            )
            await tx.commit()
        return done

    # --- tips -----------------------------------------------------------------------------

    async def proposals(
        self, tip: Tip, scope: Scope
    ) -> tuple[Sequence[Establishment], Sequence[Establishment]]:
        """(establishments linked to the tip, others proposed): matches of the venue names
        triage finds in the tip's text and place, in its commune first, then the province."""
        names = venue_names(f"{tip.text}\n{tip.place or ''}")
        if tip.place:
            names.append(match_key(tip.place))
        commune = tip.commune_code or (tip.triage or {}).get("commune_code")
        async with self._store() as tx:
            linked = await tx.links_of(tip.id, scope)
            found = await tx.candidates(scope, names, commune, MAX_PROPOSALS + len(linked)) if names else []
        taken = {e.id for e in linked}
        return linked, [e for e in found if e.id not in taken][:MAX_PROPOSALS]

    async def link(
        self, tip_id: int, establishment_id: int, scope: Scope, within: Jurisdiction, *, actor: str
    ) -> bool:
        """Confirm a tip is about an establishment. A hotspot at that establishment that was
        eliminated returns. False when the link existed already."""
        now = self.clock()
        async with self._store() as tx:
            tip = await tx.tip(tip_id, within)
            if await tx.get(establishment_id, scope) is None:
                raise NotFound(f"no establishment {establishment_id}")
            new = await tx.link(tip, establishment_id, by=actor, at=now)
            if new:
                await tx.event(
                    establishment_id, actor=actor, action="tip_linked", at=now, detail=f"tip {tip_id}"
                )
                await tx.audit(
                    actor=actor,
                    action="establishment_link",
                    at=now,
                    tip_id=tip_id,
                    detail=f"establishment {establishment_id}",
                )
                for spot in await tx.hotspots(scope, establishment_id=establishment_id):
                    await self._tip_about(tx, spot, tip_id, actor, now)
            await tx.commit()
        return new

    async def create_from_tip(
        self, tip_id: int, draft: EstablishmentDraft, scope: Scope, within: Jurisdiction, *, actor: str
    ) -> int:
        async with self._store() as tx:
            await tx.tip(tip_id, within)  # 404 before anything is written
        new_id = await self.add(draft, scope, actor=actor)
        await self.link(tip_id, new_id, scope, within, actor=actor)
        return new_id

    async def needing_inspection(self, scope: Scope, *, actor: str) -> Sequence[tuple[Establishment, int]]:
        """Establishments with two or more tips in the last 90 days, most tips first."""
        now = self.clock()
        async with self._store() as tx:
            rows = await tx.needing_inspection(scope, now - RECENT_TIPS_WINDOW, RECENT_TIPS_NEEDED)
            await tx.audit(actor=actor, action="establishment_list", at=now, detail="needs_inspection")
            await tx.commit()
        return rows

    # --- hotspots -------------------------------------------------------------------------

    async def add_hotspot(self, draft: HotspotDraft, scope: Scope, *, actor: str) -> int:
        draft = draft.checked()
        now = self.clock()
        async with self._store() as tx:
            province = (await tx.commune_province([draft.commune_code])).get(draft.commune_code)
            if province is None or not scope.allows(draft.commune_code, province):
                raise InvalidInput(f"unknown commune {draft.commune_code!r}")
            if draft.establishment_id is not None and await tx.get(draft.establishment_id, scope) is None:
                raise InvalidInput("no such establishment")
            new_id = await tx.add_hotspot(draft, province, by=actor, at=now)
            await tx.audit(actor=actor, action="hotspot_add", at=now, detail=f"hotspot {new_id}")
            await tx.commit()
        return new_id

    async def hotspot(self, hotspot_id: int, scope: Scope) -> tuple[Hotspot, Sequence[HotspotEvent]]:
        async with self._store() as tx:
            spot = await tx.hotspot(hotspot_id, scope)
            if spot is None:
                raise NotFound(f"no hotspot {hotspot_id}")
            return spot, await tx.hotspot_events(hotspot_id)

    async def hotspots(self, scope: Scope, *, actor: str) -> tuple[Sequence[Hotspot], Sequence[CommuneCount]]:
        async with self._store() as tx:
            spots = await tx.hotspots(scope)
            counts = await tx.hotspot_counts(scope)
            await tx.audit(actor=actor, action="hotspot_list", at=self.clock())
            await tx.commit()
        return spots, counts

    async def move_hotspot(
        self,
        hotspot_id: int,
        move: str,
        scope: Scope,
        *,
        actor: str,
        note: str = "",
        tip_id: int | None = None,
    ) -> Hotspot:
        now = self.clock()
        async with self._store() as tx:
            spot = await tx.hotspot(hotspot_id, scope)
            if spot is None:
                raise NotFound(f"no hotspot {hotspot_id}")
            target = next_state(spot.state, move)
            if not await tx.move_hotspot(spot, target, actor=actor, at=now, tip_id=tip_id, note=note[:4000]):
                raise Conflict("someone else moved this hotspot first; reload and decide again")
            await tx.audit(
                actor=actor, action="hotspot_move", at=now, detail=f"hotspot {hotspot_id} {target.value}"
            )
            await tx.commit()
            moved = await tx.hotspot(hotspot_id, scope)
        assert moved is not None
        return moved

    async def tip_about_hotspot(
        self, hotspot_id: int, tip_id: int, scope: Scope, within: Jurisdiction, *, actor: str
    ) -> Hotspot:
        """A tip names this hotspot: noted in its history; an eliminated one returns."""
        now = self.clock()
        async with self._store() as tx:
            await tx.tip(tip_id, within)
            spot = await tx.hotspot(hotspot_id, scope)
            if spot is None:
                raise NotFound(f"no hotspot {hotspot_id}")
            await self._tip_about(tx, spot, tip_id, actor, now)
            await tx.audit(
                actor=actor, action="hotspot_tip", at=now, tip_id=tip_id, detail=f"hotspot {hotspot_id}"
            )
            await tx.commit()
            moved = await tx.hotspot(hotspot_id, scope)
        assert moved is not None
        return moved

    @staticmethod
    async def _tip_about(
        tx: EstablishmentStore, spot: Hotspot, tip_id: int, actor: str, now: datetime
    ) -> None:
        if spot.state is HotspotState.ELIMINATED:
            if not await tx.move_hotspot(
                spot, HotspotState.RETURNED, actor=actor, at=now, tip_id=tip_id, note="tip"
            ):
                raise Conflict("someone else moved this hotspot first; try again")
        else:
            await tx.move_hotspot(spot, spot.state, actor=actor, at=now, tip_id=tip_id, note="tip")

    # --- indicators -----------------------------------------------------------------------

    async def _ratios(self, period: Period, area: str | None) -> Mapping[str, Ratio]:
        scope = _area_scope(area, self.province_code)
        async with self._store() as tx:
            return await tx.ratios(period, scope, self.clock())

    async def indicators(self, period: Period, area: str | None) -> list[Indicator]:
        """Every registered indicator for the period, for a commune or (None) the province."""
        if period.start.year < 1900 or period.end.year > 9000:
            raise InvalidInput("the period must lie between the years 1900 and 9000")
        if area and len(area) != 2:
            async with self._store() as tx:
                if not await tx.commune_province([area]):
                    raise InvalidInput(f"unknown commune {area!r}")

        async def targets(code: str | None) -> Mapping[str, float]:
            async with self._store() as tx:
                merged = dict(await tx.targets(None))
                if code:
                    merged.update(await tx.targets(code))
                return merged

        return await self.registry.compute(period, area, targets)

    async def set_target(self, name: str, target: float, area: str | None, *, actor: str) -> None:
        spec = self.registry.spec(name)
        check_target(spec, target)
        now = self.clock()
        async with self._store() as tx:
            if area and not await tx.commune_province([area]):
                raise InvalidInput(f"unknown commune {area!r}")
            await tx.set_target(name, area, target, by=actor, at=now)
            await tx.audit(
                actor=actor, action="indicator_target", at=now, detail=f"{name} {area or ''} {target}"
            )
            await tx.commit()

    async def targets(self, area: str | None) -> dict[str, float]:
        async with self._store() as tx:
            merged = {s.name: s.default_target for s in SPECS}
            merged.update(await tx.targets(None))
            if area:
                merged.update(await tx.targets(area))
            return merged


def _area_scope(area: str | None, province_code: str) -> Scope:
    if area is None:
        return Scope(province_code=province_code)
    if len(area) == 2:
        return Scope(province_code=area)
    return Scope(commune_code=area)


__all__ = ["EstablishmentService", "ImportRow", "ListQuery", "Outcome", "Status", "venue_names"]
