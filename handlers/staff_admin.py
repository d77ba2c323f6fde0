"""Administrators' pages: the audit log with filters, keyset pages and a CSV
download (`/staff/audit`, `/staff/audit.csv`), and the accounts (`/staff/officers`) with
activate/deactivate buttons. Others get 403. Reading the log is audited (`audit_read`),
downloading it too (`export`), and so is each (de)activation.
"""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web
from pydantic import ValidationError

from core.errors import DomainError
from core.officers import Role
from core.staff import StaffContext
from handlers.keys import SERVICES
from handlers.staff_api import AuditFilterQuery, AuditQuery, send_audit_csv
from handlers.staff_pages import csrf_checked_form, page, staff_or_login

routes = web.RouteTableDef()
PAGE_SIZE = 100


async def admin_or_login(request: web.Request) -> StaffContext:
    """The signed-in administrator; others get 403, the signed-out the sign-in page."""
    staff = await staff_or_login(request)
    if staff.officer.role is not Role.ADMIN:
        raise web.HTTPForbidden(text="for administrators only")
    return staff


def _filled(request: web.Request) -> dict[str, str]:
    """The query without the empty fields a GET form sends."""
    return {k: v for k, v in request.query.items() if v.strip() != ""}


@routes.get("/staff/audit")
async def audit_page(request: web.Request) -> web.Response:
    """The audit log, newest first, filtered; "older" pages on by id (keyset)."""
    staff = await admin_or_login(request)
    fields = _filled(request)
    try:
        query = AuditQuery.model_validate({**fields, "limit": PAGE_SIZE})
    except ValidationError as exc:
        names = ", ".join(sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]}))
        return page(
            request,
            "staff_audit.html",
            staff,
            status=422,
            error=names,
            entries=[],
            fields=fields,
            older=None,
            csv_query=None,
        )
    entries = await request.app[SERVICES].staff.audit_log(
        staff, before_id=query.before, limit=PAGE_SIZE, where=query.to_filter()
    )
    filters = {k: v for k, v in fields.items() if k != "before"}
    older = None
    if len(entries) == PAGE_SIZE:
        older = urlencode({**filters, "before": str(entries[-1].id)})
    return page(
        request,
        "staff_audit.html",
        staff,
        error="",
        entries=entries,
        fields=fields,
        older=older,
        csv_query=urlencode(filters),
    )


@routes.get("/staff/audit.csv")
async def audit_csv_page(request: web.Request) -> web.StreamResponse:
    """The page's filters as a CSV download (audited as an export)."""
    staff = await admin_or_login(request)
    fields = {k: v for k, v in _filled(request).items() if k != "before"}
    return await send_audit_csv(request, staff, AuditFilterQuery.model_validate(fields))


async def officers_page(
    request: web.Request, staff: StaffContext, *, status: int = 200, error: str = "", done: str = ""
) -> web.Response:
    officers = await request.app[SERVICES].staff.officers(staff)
    return page(
        request, "staff_officers.html", staff, status=status, error=error, officers=officers, done=done
    )


@routes.get("/staff/officers")
async def officers(request: web.Request) -> web.Response:
    """Every account with its agency, area, role and whether it may sign in."""
    staff = await admin_or_login(request)
    done = request.query.get("password_reset", "")
    known = {o.username for o in await request.app[SERVICES].staff.officers(staff)}
    return await officers_page(request, staff, done=done if done in known else "")


@routes.post("/staff/officers/{username}/password")
async def reset_password(request: web.Request) -> web.Response:
    """A new password for a forgotten one; that officer's sessions end at once (audited)."""
    staff = await admin_or_login(request)
    fields = await csrf_checked_form(request, staff)
    username = request.match_info["username"]
    password = fields.get("password", "")
    if username == staff.officer.username:
        return await officers_page(request, staff, status=422, error="own_account")
    if not 12 <= len(password) <= 200:
        return await officers_page(request, staff, status=422, error="password_short")
    await request.app[SERVICES].staff.reset_password_by(staff, username, password)
    raise web.HTTPSeeOther("/staff/officers?" + urlencode({"password_reset": username}))


async def set_active(request: web.Request, active: bool) -> web.Response:
    staff = await admin_or_login(request)
    fields = await csrf_checked_form(request, staff)
    username = fields.get("username", "").strip()
    try:
        await request.app[SERVICES].staff.set_active_by(staff, username, active)
    except DomainError as exc:
        if exc.code == "not_found":
            raise
        return await officers_page(request, staff, status=422, error=str(exc))
    raise web.HTTPSeeOther("/staff/officers")


@routes.post("/staff/officers/deactivate")
async def deactivate(request: web.Request) -> web.Response:
    """The officer can no longer sign in; their sessions end at once."""
    return await set_active(request, False)


@routes.post("/staff/officers/activate")
async def activate(request: web.Request) -> web.Response:
    return await set_active(request, True)
