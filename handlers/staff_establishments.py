"""The establishments register for staff: the JSON API (`/api/v1/staff/establishments`,
its inspections, tip links, hotspots) and the pages (`/staff/establishments`, one
establishment, "needs inspection", hotspots with counts per commune and a tile-free map).

Scoped like tips (handlers/establishment_context.staff_scope): another commune's
establishment is 404. Every read and write is audited by the service. Pages post forms
with the session's CSRF token and redirect (303), or show the form again with why.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any, Literal

from aiohttp import web
from markupsafe import Markup, escape
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.errors import DomainError, Forbidden, NotFound
from core.establishment_service import ListQuery
from core.establishments import (
    MAX_FINE_VND,
    CommuneCount,
    Establishment,
    EstablishmentDraft,
    Hotspot,
    HotspotDraft,
    HotspotKind,
    Inspection,
    InspectionDraft,
    Kind,
    Outcome,
    Status,
)
from core.officers import Role
from core.staff import StaffContext
from handlers.establishment_context import staff_scope
from handlers.keys import SERVICES
from handlers.parsing import path_number, read_json
from handlers.schemas import NO_NUL
from handlers.staff_api import NO_STORE, require_staff, tip_id_of
from handlers.staff_openapi import StaffRoutes
from handlers.staff_pages import csrf_checked_form, page, staff_or_login, tip_page

routes = web.RouteTableDef()
api_routes = StaffRoutes(routes)
SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)
COMMUNE = r"^\d{5}$"


def _blank(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _date_text(value: Any) -> Any:
    """A date comes as YYYY-MM-DD text, never as a number of seconds."""
    if value is None or isinstance(value, str | date):
        return value
    raise ValueError("a date is written YYYY-MM-DD")


class EstablishmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    kind: Kind
    address: str = Field(default="", max_length=300, pattern=NO_NUL)
    commune_code: str = Field(pattern=COMMUNE)
    licence: str | None = Field(default=None, max_length=60, pattern=NO_NUL)
    status: Status = Status.LISTED
    commitment_date: date | None = Field(default=None, strict=False)  # ISO text, or blank

    _blanks = field_validator("licence", "commitment_date", mode="before")(_blank)
    _dates = field_validator("commitment_date", mode="before")(_date_text)

    def draft(self) -> EstablishmentDraft:
        return EstablishmentDraft(
            self.name,
            self.kind,
            self.address,
            self.commune_code,
            self.licence,
            self.status,
            self.commitment_date,
        )


class EstablishmentForm(EstablishmentIn):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, strict=False)


class InspectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True, strict=True)
    on: date = Field(alias="date", strict=False)
    outcome: Outcome
    team: str = Field(default="", max_length=300, pattern=NO_NUL)
    violation: str | None = Field(default=None, max_length=300, pattern=NO_NUL)
    fine_vnd: int | None = Field(default=None, ge=0, le=MAX_FINE_VND)
    notes: str = Field(default="", max_length=4000, pattern=NO_NUL)

    _blanks = field_validator("violation", "fine_vnd", mode="before")(_blank)
    _dates = field_validator("on", mode="before")(_date_text)

    def draft(self) -> InspectionDraft:
        return InspectionDraft(self.on, self.outcome, self.team, self.violation, self.fine_vnd, self.notes)


class InspectionForm(InspectionIn):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, populate_by_name=True, strict=False)


class ListIn(BaseModel):
    """The API's filters, exactly as documented: a value given must be a valid one."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    commune: str | None = Field(default=None, pattern=COMMUNE)
    kind: Kind | None = None
    q: str | None = Field(default=None, max_length=200, pattern=NO_NUL)
    due: bool = False
    after: int | None = Field(default=None, ge=0, le=2**62)
    limit: int = Field(default=50, ge=1, le=200)

    def query(self) -> ListQuery:
        kind = self.kind.value if self.kind else None
        return ListQuery(self.commune, kind, self.q, self.due, self.after, self.limit)


class ListForm(ListIn):
    """The page's filter form: a box left empty means no filter."""

    _blanks = field_validator("commune", "kind", "q", "after", mode="before")(_blank)

    @field_validator("due", mode="before")
    @classmethod
    def _unticked(cls, value: Any) -> Any:
        return False if value in ("", None) else value


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    establishment_id: int = Field(ge=1, le=2**62)


class LinkForm(LinkIn):
    model_config = ConfigDict(extra="ignore", strict=False)


class HotspotIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, strict=True)
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    kind: HotspotKind
    commune_code: str = Field(pattern=COMMUNE)
    description: str = Field(default="", max_length=4000, pattern=NO_NUL)
    establishment_id: int | None = Field(default=None, ge=1, le=2**62)

    _blanks = field_validator("establishment_id", mode="before")(_blank)

    def draft(self) -> HotspotDraft:
        return HotspotDraft(self.name, self.kind, self.commune_code, self.description, self.establishment_id)


class HotspotForm(HotspotIn):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, strict=False)


class HotspotTipIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    tip_id: int = Field(ge=1, le=2**62)


class MoveIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, strict=True)
    note: str = Field(default="", max_length=4000, pattern=NO_NUL)


class MoveForm(MoveIn):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, strict=False)


def _problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return ", ".join(sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})) or "input"
    return str(exc)


def establishment_json(e: Establishment, today: date | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": e.id,
        "name": e.name,
        "kind": e.kind.value,
        "address": e.address,
        "commune_code": e.commune_code,
        "province_code": e.province_code,
        "licence": e.licence,
        "status": e.status.value,
        "commitment_date": e.commitment_date.isoformat() if e.commitment_date else None,
        "last_inspected": e.last_inspected.isoformat() if e.last_inspected else None,
    }
    if today is not None:
        body["due"] = e.due(today)
    return body


def inspection_json(i: Inspection) -> dict[str, Any]:
    return {
        "id": i.id,
        "date": i.on.isoformat(),
        "outcome": i.outcome.value,
        "team": i.team,
        "violation": i.violation,
        "fine_vnd": i.fine_vnd,
        "notes": i.notes,
        "by": i.by,
        "at": i.at.isoformat(),
    }


def hotspot_json(h: Hotspot, now: Any) -> dict[str, Any]:
    return {
        "id": h.id,
        "name": h.name,
        "kind": h.kind.value,
        "commune_code": h.commune_code,
        "establishment_id": h.establishment_id,
        "state": h.state.value,
        "shown_state": h.shown_state(now),
        "returns": h.returns,
        "detected_at": h.detected_at.isoformat(),
        "eliminated_at": h.eliminated_at.isoformat() if h.eliminated_at else None,
    }


def _supervisor(staff: StaffContext) -> None:
    if staff.officer.role not in SUPERVISORS:
        raise Forbidden("supervisors and administrators see this list")


# --- JSON API -----------------------------------------------------------------------------


@api_routes.get(
    "/api/v1/staff/establishments",
    "The establishments register within the jurisdiction (due: not inspected in 12 months)",
    ok=(200, "A page of establishments and the next cursor", None),
    query=ListIn,
    errors=(401, 422),
)
async def api_list(request: web.Request) -> web.Response:
    """The register within the officer's scope; `due=1`: not inspected in the last 12 months."""
    staff = await require_staff(request)
    service = request.app[SERVICES].establishments
    query = ListIn.model_validate(dict(request.query)).query()
    rows = await service.find(staff_scope(staff), query, actor=staff.actor)
    today = service.today()
    following = rows[-1].id if len(rows) == query.limit else None
    return web.json_response(
        {"items": [establishment_json(e, today) for e in rows], "next": following}, headers=NO_STORE
    )


@api_routes.post(
    "/api/v1/staff/establishments",
    "Add an establishment to the register",
    ok=(201, "The establishment as stored", None),
    body=EstablishmentIn,
    errors=(401, 403, 404, 409, 422),
)
async def api_add(request: web.Request) -> web.Response:
    staff = await require_staff(request, write=True)
    body = await read_json(request, EstablishmentIn)
    service = request.app[SERVICES].establishments
    new_id = await service.add(body.draft(), staff_scope(staff), actor=staff.actor)
    found = await service.one(new_id, staff_scope(staff))
    return web.json_response(
        establishment_json(found, service.today()),
        status=201,
        headers={**NO_STORE, "Location": f"/api/v1/staff/establishments/{new_id}"},
    )


@api_routes.get(
    "/api/v1/staff/establishments/needs-inspection",
    "Establishments with two or more tips in 90 days (supervisors and administrators)",
    ok=(200, "The establishments and their recent tips", None),
    errors=(401, 403),
)
async def api_needs_inspection(request: web.Request) -> web.Response:
    """Two or more tips about it in the last 90 days (supervisors and administrators)."""
    staff = await require_staff(request)
    _supervisor(staff)
    rows = await request.app[SERVICES].establishments.needing_inspection(
        staff_scope(staff), actor=staff.actor
    )
    return web.json_response(
        {"items": [{**establishment_json(e), "recent_tips": n} for e, n in rows]}, headers=NO_STORE
    )


def _establishment_id(request: web.Request) -> int:
    return path_number(request, "establishment_id", "establishment")


@api_routes.get(
    "/api/v1/staff/establishments/{establishment_id}",
    "One establishment with its inspections, tips, hotspots and history",
    ok=(200, "The establishment", None),
)
async def api_get(request: web.Request) -> web.Response:
    staff = await require_staff(request)
    service = request.app[SERVICES].establishments
    found = await service.get(_establishment_id(request), staff_scope(staff), actor=staff.actor)
    now = service.clock()
    body = establishment_json(found.establishment, service.today())
    body["inspections"] = [inspection_json(i) for i in found.inspections]
    body["tips"] = [
        {"tip_id": t.tip_id, "received_at": t.received_at.isoformat(), "category": t.category}
        for t in found.tips
    ]
    body["hotspots"] = [hotspot_json(h, now) for h in found.hotspots]
    body["history"] = [
        {"at": at.isoformat(), "actor": who, "action": what, "detail": detail}
        for at, who, what, detail in found.history
    ]
    return web.json_response(body, headers=NO_STORE)


@api_routes.post(
    "/api/v1/staff/establishments/{establishment_id}/inspections",
    "Record an inspection",
    ok=(201, "The inspection as stored", None),
    body=InspectionIn,
    errors=(401, 403, 404, 422),
)
async def api_inspect(request: web.Request) -> web.Response:
    staff = await require_staff(request, write=True)
    establishment_id = _establishment_id(request)
    body = await read_json(request, InspectionIn)
    done = await request.app[SERVICES].establishments.inspect(
        establishment_id, body.draft(), staff_scope(staff), actor=staff.actor
    )
    return web.json_response(inspection_json(done), status=201, headers=NO_STORE)


@api_routes.post(
    "/api/v1/staff/tips/{tip_id}/establishments",
    "Confirm that a tip is about an establishment (201 linked, 200 already linked)",
    ok=(201, "Linked", None),
    body=LinkIn,
    errors=(401, 403, 404, 422),
    also_ok=((200, "It was already linked"),),
)
async def api_link(request: web.Request) -> web.Response:
    """Confirm that a tip is about an establishment: 201 when linked, 200 when it was."""
    staff = await require_staff(request, write=True)
    tip_id = tip_id_of(request)
    body = await read_json(request, LinkIn)
    new = await request.app[SERVICES].establishments.link(
        tip_id, body.establishment_id, staff_scope(staff), staff.jurisdiction, actor=staff.actor
    )
    return web.json_response(
        {"tip_id": tip_id, "establishment_id": body.establishment_id, "linked": True},
        status=201 if new else 200,
        headers=NO_STORE,
    )


@api_routes.get(
    "/api/v1/staff/hotspots",
    "Hotspots within the jurisdiction, with counts per commune",
    ok=(200, "The hotspots", None),
    errors=(401,),
)
async def api_hotspots(request: web.Request) -> web.Response:
    staff = await require_staff(request)
    service = request.app[SERVICES].establishments
    spots, counts = await service.hotspots(staff_scope(staff), actor=staff.actor)
    now = service.clock()
    return web.json_response(
        {
            "items": [hotspot_json(h, now) for h in spots],
            "communes": [c.__dict__ for c in counts],
        },
        headers=NO_STORE,
    )


@api_routes.post(
    "/api/v1/staff/hotspots",
    "Record a hotspot",
    ok=(201, "The hotspot as stored", None),
    body=HotspotIn,
    errors=(401, 403, 404, 422),
)
async def api_add_hotspot(request: web.Request) -> web.Response:
    staff = await require_staff(request, write=True)
    body = await read_json(request, HotspotIn)
    service = request.app[SERVICES].establishments
    new_id = await service.add_hotspot(body.draft(), staff_scope(staff), actor=staff.actor)
    spot, _ = await service.hotspot(new_id, staff_scope(staff))
    return web.json_response(hotspot_json(spot, service.clock()), status=201, headers=NO_STORE)


async def _move_hotspot(request: web.Request, move: str) -> web.Response:
    staff = await require_staff(request, write=True)
    hotspot_id = path_number(request, "hotspot_id", "hotspot")
    body = await read_json(request, MoveIn)
    service = request.app[SERVICES].establishments
    spot = await service.move_hotspot(hotspot_id, move, staff_scope(staff), actor=staff.actor, note=body.note)
    return web.json_response(hotspot_json(spot, service.clock()), headers=NO_STORE)


@api_routes.post(
    "/api/v1/staff/hotspots/{hotspot_id}/deal",
    "Mark a hotspot as being dealt with",
    ok=(200, "The hotspot after the move", None),
    body=MoveIn,
    errors=(401, 403, 404, 409, 422),
)
async def api_deal_with_hotspot(request: web.Request) -> web.Response:
    """Being dealt with."""
    return await _move_hotspot(request, "deal")


@api_routes.post(
    "/api/v1/staff/hotspots/{hotspot_id}/eliminate",
    "Mark a hotspot eliminated (then watched for 12 months)",
    ok=(200, "The hotspot after the move", None),
    body=MoveIn,
    errors=(401, 403, 404, 409, 422),
)
async def api_eliminate_hotspot(request: web.Request) -> web.Response:
    """Eliminated, then watched for 12 months."""
    return await _move_hotspot(request, "eliminate")


@api_routes.post(
    "/api/v1/staff/hotspots/{hotspot_id}/return",
    "Mark an eliminated hotspot as returned",
    ok=(200, "The hotspot after the move", None),
    body=MoveIn,
    errors=(401, 403, 404, 409, 422),
)
async def api_return_hotspot(request: web.Request) -> web.Response:
    """Returned, by an officer's hand (a tip about the place also reopens it)."""
    return await _move_hotspot(request, "return")


# --- pages --------------------------------------------------------------------------------


async def _list_page(
    request: web.Request,
    staff: StaffContext,
    *,
    status: int = 200,
    error: str = "",
    form: dict[str, str] | None = None,
) -> web.Response:
    service = request.app[SERVICES].establishments
    try:
        filters = ListForm.model_validate(dict(request.query))
    except ValidationError:
        filters = ListForm()
    rows = await service.find(staff_scope(staff), filters.query(), actor=staff.actor)
    communes = await service.communes(staff_scope(staff))
    following = rows[-1].id if len(rows) == filters.limit else None
    params = {k: v for k, v in request.query.items() if k != "after" and v}
    next_query = "&".join(f"{k}={escape(v)}" for k, v in params.items())
    return page(
        request,
        "staff_establishments.html",
        staff,
        status=status,
        rows=rows,
        filters=filters,
        following=following,
        next_query=Markup(next_query),  # noqa: S704 - escaped above
        communes=communes,
        commune_names=dict(communes),
        kinds=list(Kind),
        statuses=list(Status),
        today=service.today(),
        error=error,
        form=form or {},
        supervisor=staff.officer.role in SUPERVISORS,
    )


@routes.get("/staff/establishments")
async def list_page(request: web.Request) -> web.Response:
    """The register: filter by commune, kind, words of the name or address, and "due"."""
    return await _list_page(request, await staff_or_login(request))


@routes.post("/staff/establishments")
async def add_page(request: web.Request) -> web.Response:
    staff = await staff_or_login(request)
    fields = await csrf_checked_form(request, staff)
    service = request.app[SERVICES].establishments
    try:
        new_id = await service.add(
            EstablishmentForm.model_validate(fields).draft(), staff_scope(staff), actor=staff.actor
        )
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, NotFound):
            raise
        return await _list_page(request, staff, status=422, error=_problem(exc), form=fields)
    raise web.HTTPSeeOther(f"/staff/establishments/{new_id}")


@routes.get("/staff/establishments/needs-inspection")
async def needs_inspection_page(request: web.Request) -> web.Response:
    staff = await staff_or_login(request)
    _supervisor(staff)
    service = request.app[SERVICES].establishments
    rows = await service.needing_inspection(staff_scope(staff), actor=staff.actor)
    communes = dict(await service.communes(staff_scope(staff)))
    return page(request, "staff_needs_inspection.html", staff, rows=rows, commune_names=communes)


async def _establishment_page(
    request: web.Request, staff: StaffContext, *, status: int = 200, error: str = ""
) -> web.Response:
    service = request.app[SERVICES].establishments
    found = await service.get(_establishment_id(request), staff_scope(staff), actor=staff.actor)
    communes = dict(await service.communes(staff_scope(staff)))
    now = service.clock()
    return page(
        request,
        "staff_establishment.html",
        staff,
        status=status,
        e=found.establishment,
        inspections=found.inspections,
        tips=found.tips,
        hotspots=[(h, h.shown_state(now)) for h in found.hotspots],
        history=found.history,
        commune_names=communes,
        outcomes=list(Outcome),
        today=service.today(),
        error=error,
    )


@routes.get("/staff/establishments/{establishment_id}")
async def establishment_page(request: web.Request) -> web.Response:
    """One establishment: its facts, inspections, tips, hotspots and history."""
    return await _establishment_page(request, await staff_or_login(request))


@routes.post("/staff/establishments/{establishment_id}/inspections")
async def inspect_page(request: web.Request) -> web.Response:
    staff = await staff_or_login(request)
    fields = await csrf_checked_form(request, staff)
    establishment_id = _establishment_id(request)
    try:
        form = InspectionForm.model_validate(fields)
        await request.app[SERVICES].establishments.inspect(
            establishment_id, form.draft(), staff_scope(staff), actor=staff.actor
        )
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, NotFound):
            raise
        return await _establishment_page(request, staff, status=422, error=_problem(exc))
    raise web.HTTPSeeOther(f"/staff/establishments/{establishment_id}")


@routes.post("/staff/tips/{tip_id}/establishments")
async def link_page(request: web.Request) -> web.Response:
    """Confirm a proposed establishment for the tip (from the tip page)."""
    staff = await staff_or_login(request)
    fields = await csrf_checked_form(request, staff)
    tip_id = tip_id_of(request)
    try:
        link = LinkForm.model_validate(fields)
    except ValidationError:
        raise web.HTTPUnprocessableEntity(text="choose an establishment") from None
    await request.app[SERVICES].establishments.link(
        tip_id, link.establishment_id, staff_scope(staff), staff.jurisdiction, actor=staff.actor
    )
    raise web.HTTPSeeOther(f"/staff/tips/{tip_id}#establishments")


@routes.post("/staff/tips/{tip_id}/establishments/new")
async def create_from_tip_page(request: web.Request) -> web.Response:
    """Add the establishment a tip names to the register, linked to the tip."""
    staff = await staff_or_login(request)
    fields = await csrf_checked_form(request, staff)
    tip_id = tip_id_of(request)
    try:
        form = EstablishmentForm.model_validate(fields)
        new_id = await request.app[SERVICES].establishments.create_from_tip(
            tip_id, form.draft(), staff_scope(staff), staff.jurisdiction, actor=staff.actor
        )
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, NotFound):
            raise
        # The tip page again, with why (e.g. "on the register already": confirm that one).
        return await tip_page(request, staff, status=422, error=_problem(exc))
    raise web.HTTPSeeOther(f"/staff/establishments/{new_id}")


# --- hotspots -----------------------------------------------------------------------------


def commune_map(counts: list[CommuneCount]) -> Markup:
    """A tile-free map: one square per commune with hotspots, darker with more open ones,
    ringed when one came back; drawn by us as SVG (names escaped), no third-party tiles."""
    if not counts:
        return Markup("")
    columns = max(1, min(6, len(counts), math.ceil(math.sqrt(len(counts) * 2))))
    size, gap = 120, 8
    rows = math.ceil(len(counts) / columns)
    width, height = columns * (size + gap), rows * (size + gap)
    most = max(c.open for c in counts) or 1
    parts = [
        f'<svg class="commune-map" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-labelledby="map-caption" xmlns="http://www.w3.org/2000/svg">'
    ]
    for n, c in enumerate(counts):
        x, y = (n % columns) * (size + gap), (n // columns) * (size + gap)
        shade = 0.15 + 0.85 * (c.open / most)
        fill = f"rgb({int(255 - 75 * shade)},{int(240 - 180 * shade)},{int(230 - 180 * shade)})"
        ring = ' stroke="#7a0000" stroke-width="6"' if c.returned else ' stroke="#999" stroke-width="1"'
        name = escape(c.commune_name)
        short = escape(c.commune_name if len(c.commune_name) <= 17 else c.commune_name[:16] + "…")
        parts.append(
            f'<g><title>{name}: {c.open}</title><rect x="{x}" y="{y}" width="{size}" height="{size}" rx="8" '
            f'fill="{fill}"{ring}/><text x="{x + size // 2}" y="{y + 52}" text-anchor="middle" '
            f'font-size="12">{short}</text><text x="{x + size // 2}" y="{y + 84}" text-anchor="middle" '
            f'font-size="26" font-weight="bold">{c.open}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it is escaped above


async def _hotspots_page(
    request: web.Request, staff: StaffContext, *, status: int = 200, error: str = ""
) -> web.Response:
    service = request.app[SERVICES].establishments
    spots, counts = await service.hotspots(staff_scope(staff), actor=staff.actor)
    communes = await service.communes(staff_scope(staff))
    now = service.clock()
    return page(
        request,
        "staff_hotspots.html",
        staff,
        status=status,
        spots=[(h, h.shown_state(now)) for h in spots],
        counts=counts,
        svg_map=commune_map(list(counts)),
        communes=communes,
        commune_names=dict(communes),
        kinds=list(HotspotKind),
        error=error,
    )


@routes.get("/staff/hotspots")
async def hotspots_page(request: web.Request) -> web.Response:
    """Hotspots with their lifecycle, counts per commune and a map."""
    return await _hotspots_page(request, await staff_or_login(request))


@routes.post("/staff/hotspots")
async def add_hotspot_page(request: web.Request) -> web.Response:
    staff = await staff_or_login(request)
    fields = await csrf_checked_form(request, staff)
    try:
        await request.app[SERVICES].establishments.add_hotspot(
            HotspotForm.model_validate(fields).draft(), staff_scope(staff), actor=staff.actor
        )
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, NotFound):
            raise
        return await _hotspots_page(request, staff, status=422, error=_problem(exc))
    raise web.HTTPSeeOther("/staff/hotspots")


@routes.post("/staff/hotspots/{hotspot_id}/{action:deal|eliminate|return|tip}")
async def move_hotspot_page(request: web.Request) -> web.Response:
    staff = await staff_or_login(request)
    fields = await csrf_checked_form(request, staff)
    hotspot_id = path_number(request, "hotspot_id", "hotspot")
    service = request.app[SERVICES].establishments
    action: Literal["deal", "eliminate", "return", "tip"] = request.match_info["action"]  # type: ignore[assignment]
    try:
        if action == "tip":
            tip = HotspotTipIn.model_validate(fields)
            await service.tip_about_hotspot(
                hotspot_id, tip.tip_id, staff_scope(staff), staff.jurisdiction, actor=staff.actor
            )
        else:
            note = MoveForm.model_validate(fields).note
            await service.move_hotspot(hotspot_id, action, staff_scope(staff), actor=staff.actor, note=note)
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, NotFound):
            raise
        return await _hotspots_page(
            request,
            staff,
            status=409 if getattr(exc, "code", "") in ("illegal_transition", "conflict") else 422,
            error=_problem(exc),
        )
    raise web.HTTPSeeOther("/staff/hotspots")
