"""Staff JSON API: sign in (password + TOTP), the queue, a tip, its moves and replies, and
the KPI — each within the officer's jurisdiction, which the service layer enforces.

The session lives in an HttpOnly, Secure, SameSite=Strict cookie; every write must also
send the session's CSRF token as `X-CSRF-Token` (returned at sign-in and by GET session).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.calendar import VN_TZ
from core.categories import Category
from core.errors import CsrfRefused, NotFound
from core.kpi import KpiScope
from core.ports import AuditEntry, AuditFilter
from core.queue import deadline_badge
from core.routing import AgencyKind, RoutingPolicy
from core.services import TransitionRequest
from core.staff import SignedIn, StaffContext
from core.tips import StaffNote
from handlers.clients import source_of
from handlers.i18n import language
from handlers.keys import METRICS, SERVICES, SETTINGS
from handlers.labels import stage_label
from handlers.parsing import path_number, read_json
from handlers.schemas import (
    ExtensionIn,
    KpiQuery,
    QueueQuery,
    ReplyIn,
    SessionIn,
    TransitionIn,
    queue_item_json,
    tip_json,
)
from handlers.staff_openapi import CSRF_HEADER as CSRF_HEADER  # the staff pages read them here
from handlers.staff_openapi import SESSION_COOKIE as SESSION_COOKIE
from handlers.staff_openapi import (
    AuditOut,
    KpiOut,
    NoteOut,
    NotificationsOut,
    OfficerOut,
    QueueOut,
    ReplyOut,
    RoutingOut,
    SignOutQuery,
    StaffRoutes,
    TipOut,
)

routes = web.RouteTableDef()
api_routes = StaffRoutes(routes)

NO_STORE = {"Cache-Control": "no-store"}


async def require_staff(request: web.Request, *, write: bool = False) -> StaffContext:
    """The signed-in officer (401 otherwise); writes also need the CSRF token (403)."""
    staff = await request.app[SERVICES].staff.session(request.cookies.get(SESSION_COOKIE, ""))
    if write and not staff.csrf_matches(request.headers.get(CSRF_HEADER, "")):
        raise CsrfRefused(f"send the session's CSRF token as {CSRF_HEADER}")
    return staff


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    """Secure even on plain http: browsers accept it from localhost, and in production the
    reverse proxy terminates TLS, so `request.secure` would wrongly say no."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        secure=True,
        samesite="Strict",
        path="/",
        max_age=request.app[SETTINGS].staff_session_hours * 3600,
    )


def officer_json(staff: StaffContext | SignedIn) -> dict[str, Any]:
    o = staff.officer
    return {
        "username": o.username,
        "role": o.role.value,
        "agency_code": o.agency_code,
        "area_code": o.area_code,
        "csrf_token": staff.csrf_token,
    }


def tip_id_of(request: web.Request) -> int:
    return path_number(request, "tip_id", "tip")


@api_routes.post(
    "/api/v1/staff/session",
    "Sign in: password and TOTP code; sets the session cookie",
    ok=(201, "Signed in", OfficerOut),
    body=SessionIn,
    signed_in=False,
    errors=(401, 403, 422, 429),
)
async def sign_in(request: web.Request) -> web.Response:
    """Username, password and the authenticator's code in; a session cookie out."""
    body = await read_json(request, SessionIn)
    signed = await request.app[SERVICES].staff.sign_in(
        body.username, body.password, body.otp, source=await source_of(request)
    )
    response = web.json_response(officer_json(signed), status=201, headers=NO_STORE)
    set_session_cookie(request, response, signed.token)
    return response


@api_routes.get(
    "/api/v1/staff/session",
    "The signed-in officer and the CSRF token",
    ok=(200, "Signed in", OfficerOut),
    errors=(401,),
)
async def who_am_i(request: web.Request) -> web.Response:
    """The signed-in officer and the CSRF token their writes must carry."""
    staff = await require_staff(request)
    return web.json_response(officer_json(staff), headers=NO_STORE)


@api_routes.delete(
    "/api/v1/staff/session",
    "Sign out (here, or everywhere)",
    ok=(204, "Signed out", None),
    query=SignOutQuery,
    errors=(401, 403, 422),
)
async def sign_out(request: web.Request) -> web.Response:
    """End this session, or with `?everywhere=1` every session of the officer."""
    staff = await require_staff(request, write=True)
    everywhere = request.query.get("everywhere") in ("1", "true")
    await request.app[SERVICES].staff.sign_out(staff, everywhere=everywhere)
    response = web.Response(status=204, headers=NO_STORE)
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


@api_routes.get(
    "/api/v1/staff/tips",
    "The queue: urgent first, then nearest deadline; keyset pages",
    ok=(200, "A page of the queue", QueueOut),
    query=QueueQuery,
)
async def list_tips(request: web.Request) -> web.Response:
    """The queue: urgent first, then nearest deadline; `next` pages on (keyset)."""
    staff = await require_staff(request)
    query = QueueQuery.model_validate(dict(request.query))
    page = await request.app[SERVICES].tips.queue(staff.jurisdiction, query.to_filter())
    now = request.app[SERVICES].tips.clock()
    items = [
        queue_item_json(item, deadline_badge(item.next_due_at, item.at_risk_at, now)) for item in page.items
    ]
    return web.json_response(
        {"items": items, "next": page.next.encode() if page.next else None}, headers=NO_STORE
    )


@api_routes.get(
    "/api/v1/staff/tips/{tip_id}",
    "A tip with its history (audited); read-only if only notified",
    ok=(200, "The tip", TipOut),
)
async def get_tip(request: web.Request) -> web.Response:
    """A tip with its history; the read is audited."""
    staff = await require_staff(request)
    services = request.app[SERVICES]
    tips = services.tips
    try:
        tip, history = await tips.view(tip_id_of(request), staff.actor, staff.jurisdiction)
    except NotFound:
        # Not theirs, but perhaps notified to their unit (health: trafficking, minor):
        # read-only, audited as view_notified; 404 otherwise.
        tip, history = await services.notifications.read(tip_id_of(request), staff.actor, staff.jurisdiction)
        body = tip_json(tip, list(history))
        body["read_only"] = True
        return web.json_response(body, headers=NO_STORE)
    body = tip_json(tip, list(history))
    body["notes"] = [note_json(n) for n in await tips.notes(tip.id, staff.jurisdiction)]
    body["notified"] = list(await services.notifications.agencies(tip.id))
    body["read_only"] = False
    return web.json_response(body, headers=NO_STORE)


@api_routes.get(
    "/api/v1/staff/notifications",
    "Tips notified to the officer's unit (read-only)",
    ok=(200, "Newest first", NotificationsOut),
    errors=(401,),
)
async def notifications(request: web.Request) -> web.Response:
    """Tips notified to the officer's unit without being theirs (the Department of Health
    learns of trafficking and minor tips): newest first, readable, not actionable."""
    staff = await require_staff(request)
    items = await request.app[SERVICES].notifications.inbox(staff.jurisdiction)
    return web.json_response(
        {
            "items": [
                {
                    "id": n.tip_id,
                    "agency_code": n.agency_code,
                    "reason": n.reason,
                    "notified_at": n.at.isoformat(),
                    "category": n.category.value if n.category else None,
                    "urgent": n.urgent,
                    "stage": n.stage.value,
                    "received_at": n.received_at.isoformat(),
                }
                for n in items
            ]
        },
        headers=NO_STORE,
    )


def note_json(note: StaffNote) -> dict[str, Any]:
    return {"actor": note.actor, "text": note.text, "at": note.at.isoformat()}


@api_routes.post(
    "/api/v1/staff/tips/{tip_id}/notes",
    "A note for colleagues",
    ok=(201, "Added", NoteOut),
    body=ReplyIn,
    errors=(401, 403, 404, 422),
)
async def add_note(request: web.Request) -> web.Response:
    """A note for colleagues, never shown to the reporter."""
    staff = await require_staff(request, write=True)
    body = await read_json(request, ReplyIn)
    note = await request.app[SERVICES].tips.add_note(
        tip_id_of(request), actor=staff.actor, text=body.text, within=staff.jurisdiction
    )
    return web.json_response(note_json(note), status=201, headers=NO_STORE)


@api_routes.post(
    "/api/v1/staff/tips/{tip_id}/transitions",
    "Move a tip (verify, classify, process, refer, close)",
    ok=(200, "The tip after the move", TipOut),
    body=TransitionIn,
    errors=(401, 403, 404, 409, 422),
)
async def transition_tip(request: web.Request) -> web.Response:
    """Move a tip; 409 when the move is illegal or someone else moved it first."""
    staff = await require_staff(request, write=True)
    body = await read_json(request, TransitionIn)
    tip = await request.app[SERVICES].tips.transition(
        tip_id_of(request),
        TransitionRequest(
            target=body.to,
            actor=staff.actor,
            reason=body.reason,
            expected_stage=body.expected_stage,
            category=body.category,
            urgent=body.urgent,
            to_agency=body.to_agency,
            duplicate_of=body.duplicate_of,
        ),
        staff.jurisdiction,
    )
    request.app[METRICS].transitions.labels(body.to.value).inc()
    return web.json_response(tip_json(tip), headers=NO_STORE)


@api_routes.post(
    "/api/v1/staff/tips/{tip_id}/extensions",
    "Extend the decision deadline, with a reason",
    ok=(200, "The tip", TipOut),
    body=ExtensionIn,
    errors=(401, 403, 404, 409, 422),
)
async def extend_tip(request: web.Request) -> web.Response:
    """Extend the decision deadline (CPC art. 147), with a reason."""
    staff = await require_staff(request, write=True)
    body = await read_json(request, ExtensionIn)
    tip = await request.app[SERVICES].tips.extend_deadline(
        tip_id_of(request), actor=staff.actor, reason=body.reason, days=body.days, within=staff.jurisdiction
    )
    return web.json_response(tip_json(tip), headers=NO_STORE)


@api_routes.post(
    "/api/v1/staff/tips/{tip_id}/replies",
    "An anonymous reply to the reporter",
    ok=(201, "Sent", ReplyOut),
    body=ReplyIn,
    errors=(401, 403, 404, 422),
)
async def reply_to_reporter(request: web.Request) -> web.Response:
    """An anonymous answer to the reporter: shown on their status page (and announced in
    the bot to reporters who agreed), never with the officer's name."""
    staff = await require_staff(request, write=True)
    body = await read_json(request, ReplyIn)
    message = await request.app[SERVICES].tips.reply(
        tip_id_of(request), actor=staff.actor, text=body.text, within=staff.jurisdiction
    )
    return web.json_response(
        {"author": message.author.value, "text": message.text, "at": message.at.isoformat()},
        status=201,
        headers=NO_STORE,
    )


EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}


async def send_attachment(request: web.Request, staff: StaffContext) -> web.Response:
    """The file as a download (never rendered inline), not cached, audited by the service."""
    tip_id, number = tip_id_of(request), path_number(request, "number", "attachment", digits=3)
    meta, data = await request.app[SERVICES].tips.download(
        tip_id, number, actor=staff.actor, within=staff.jurisdiction
    )
    name = f"tip-{tip_id}-{number}.{EXTENSIONS.get(meta.media_type, 'pdf')}"
    return web.Response(
        body=data,
        content_type=meta.media_type,
        headers={
            **NO_STORE,
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@api_routes.get(
    "/api/v1/staff/tips/{tip_id}/attachments/{number}",
    "A file of the tip, as a download (audited)",
    ok=(200, "The file", "binary"),
)
async def download_attachment(request: web.Request) -> web.Response:
    """One of a tip's files (numbered from 1), for staff of its jurisdiction only."""
    return await send_attachment(request, await require_staff(request))


@api_routes.get(
    "/api/v1/staff/kpi",
    "The KPI of a period within the jurisdiction",
    ok=(200, "The KPI", KpiOut),
    query=KpiQuery,
)
async def kpi(request: web.Request) -> web.Response:
    """The KPI for `from`..`to` (dates, Viet Nam time), optionally one agency or commune,
    counting only tips within the officer's jurisdiction."""
    staff = await require_staff(request)
    query = KpiQuery.model_validate(dict(request.query))
    tips = request.app[SERVICES].tips
    report = await tips.kpi(
        query.period(),
        KpiScope(agency_code=query.agency, commune_code=query.commune),
        within=staff.jurisdiction,
    )
    corrections = await tips.triage_corrections(query.period(), staff.jurisdiction)
    data = {**report.to_dict(), "triage_corrections": [c.to_dict() for c in corrections]}
    return web.json_response(data, headers=NO_STORE)


KPI_COLUMNS = (
    "stage",
    "on_time",
    "late",
    "open_within_time",
    "overdue",
    "not_applicable",
    "on_time_share",
    "median_hours",
)


async def send_kpi_csv(request: web.Request, staff: StaffContext) -> web.Response:
    """The KPI table as CSV, the same numbers as the JSON and the page; audited."""
    query = KpiQuery.model_validate(dict(request.query))
    report = await request.app[SERVICES].tips.kpi(
        query.period(),
        KpiScope(agency_code=query.agency, commune_code=query.commune),
        within=staff.jurisdiction,
        exported_by=staff.actor,
    )
    data = report.to_dict()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([KPI_COLUMNS[0], "stage_label", *KPI_COLUMNS[1:]])
    lang = language(request)
    for stage in data["stages"]:
        cells = ["" if stage[c] is None else stage[c] for c in KPI_COLUMNS]
        writer.writerow([cells[0], stage_label(lang, stage["stage"]), *cells[1:]])
    name = f"kpi-{query.start.isoformat()}-{query.end.isoformat()}.csv"
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'},
    )


@api_routes.get(
    "/api/v1/staff/kpi.csv", "The KPI as CSV (audited)", ok=(200, "CSV", "text/csv"), query=KpiQuery
)
async def kpi_csv(request: web.Request) -> web.Response:
    """CSV export of the KPI, within the officer's jurisdiction."""
    return await send_kpi_csv(request, await require_staff(request))


class RouteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    agency_kind: AgencyKind


def routing_json(policy: RoutingPolicy) -> dict[str, Any]:
    return {"rules": [{"category": c.value, "agency_kind": policy.owners[c].value} for c in Category]}


@api_routes.get(
    "/api/v1/staff/routing", "The routing policy table", ok=(200, "The table", RoutingOut), errors=(401,)
)
async def get_routing(request: web.Request) -> web.Response:
    """The routing policy table: which agency kind owns new tips of each category."""
    await require_staff(request)
    return web.json_response(routing_json(await request.app[SERVICES].staff.routing()), headers=NO_STORE)


@api_routes.put(
    "/api/v1/staff/routing/{category}",
    "Change one category's owner (admins)",
    ok=(200, "The table", RoutingOut),
    body=RouteIn,
    errors=(401, 403, 404, 422),
)
async def put_route(request: web.Request) -> web.Response:
    """Administrators change one category's owner; misconduct stays with the inspectorate."""
    staff = await require_staff(request, write=True)
    try:
        category = Category(request.match_info["category"])
    except ValueError:
        raise web.HTTPNotFound(text="no such category") from None
    body = await read_json(request, RouteIn)
    policy = await request.app[SERVICES].staff.set_route(staff, category, body.agency_kind)
    return web.json_response(routing_json(policy), headers=NO_STORE)


class AuditFilterQuery(BaseModel):
    """Filters of the audit log (API, page and CSV): `from`/`to` are dates, Viet Nam time,
    both included; `actor` is as recorded (`officer:lan`) or just the username."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start: date | None = Field(default=None, alias="from")
    end: date | None = Field(default=None, alias="to")
    actor: str | None = Field(default=None, min_length=1, max_length=80, pattern=r"^[^\x00-\x1f]+$")
    action: str | None = Field(default=None, min_length=1, max_length=40, pattern=r"^[a-z_]+$")
    tip_id: int | None = Field(default=None, ge=1, le=10**18)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        """`YYYY-MM-DD` only, between 2000 and 2100."""
        if isinstance(value, str):
            value = date.fromisoformat(value)
        if isinstance(value, date) and not 2000 <= value.year <= 2100:
            raise ValueError("a date between 2000 and 2100")
        return value

    def to_filter(self) -> AuditFilter:
        actors: tuple[str, ...] = ()
        if self.actor:
            name = self.actor.strip()
            actors = (name,) if ":" in name else (name, f"officer:{name}")
        return AuditFilter(
            since=datetime.combine(self.start, time(), VN_TZ) if self.start else None,
            until=datetime.combine(self.end + timedelta(days=1), time(), VN_TZ) if self.end else None,
            actors=actors,
            action=self.action,
            tip_id=self.tip_id,
        )


class AuditQuery(AuditFilterQuery):
    before: int | None = Field(default=None, ge=1, le=2**62)
    limit: int = Field(default=100, ge=1, le=1000)


def audit_json(e: AuditEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": e.at.isoformat(),
        "actor": e.actor,
        "action": e.action,
        "tip_id": e.tip_id,
        "detail": e.detail,
    }


@api_routes.get(
    "/api/v1/staff/audit",
    "The audit log, newest first (admins)",
    ok=(200, "A page", AuditOut),
    query=AuditQuery,
    errors=(401, 403, 422),
)
async def audit_log(request: web.Request) -> web.Response:
    """The audit log for administrators, newest first; `next` pages further back."""
    staff = await require_staff(request)
    query = AuditQuery.model_validate(dict(request.query))
    entries = await request.app[SERVICES].staff.audit_log(
        staff, before_id=query.before, limit=query.limit, where=query.to_filter()
    )
    items = [audit_json(e) for e in entries]
    more = len(entries) == query.limit
    return web.json_response({"items": items, "next": entries[-1].id if more else None}, headers=NO_STORE)


AUDIT_COLUMNS = ("id", "at", "actor", "action", "tip_id", "detail")


def _cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula is kept as text (OWASP CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


async def send_audit_csv(
    request: web.Request, staff: StaffContext, query: AuditFilterQuery
) -> web.StreamResponse:
    """The matching audit entries as CSV, newest first, streamed page by page (so any
    size is served in bounded memory); the export itself is audited first."""
    pages = await request.app[SERVICES].staff.export_audit(staff, query.to_filter())
    response = web.StreamResponse(
        headers={
            **NO_STORE,
            "Content-Disposition": 'attachment; filename="audit.csv"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
            "Referrer-Policy": "no-referrer",
        }
    )
    response.content_type = "text/csv"
    response.charset = "utf-8"
    await response.prepare(request)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(AUDIT_COLUMNS)
    async for batch in pages:
        for e in batch:
            writer.writerow([_cell(v) for v in audit_json(e).values()])
        await response.write(out.getvalue().encode())
        out.seek(0)
        out.truncate()
    await response.write(out.getvalue().encode())
    await response.write_eof()
    return response


@api_routes.get(
    "/api/v1/staff/audit.csv",
    "The audit log as CSV, same filters, newest first (admins; audited as an export)",
    ok=(200, "CSV", "text/csv"),
    query=AuditFilterQuery,
    errors=(401, 403, 422),
)
async def audit_csv(request: web.Request) -> web.StreamResponse:
    """The audit log as CSV for administrators, with the same filters (audited as an export)."""
    staff = await require_staff(request)
    query = AuditFilterQuery.model_validate(dict(request.query))
    return await send_audit_csv(request, staff, query)
