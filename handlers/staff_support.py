"""Support cases for health and social workers (`/staff/support`): the list of their area's
cases, the case page (conversation, referrals and outcomes, history), the steps of the
lifecycle, referrals to the service directory and the contact shown on request (audited).
Police and every other kind of unit get 404, as for a case that does not exist."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core.errors import DomainError, NotFound
from core.establishments import Scope
from core.officers import Role
from core.staff import StaffContext
from core.support import ReferralOutcome, State
from core.support_service import support_scope
from handlers.keys import SERVICES
from handlers.parsing import path_number
from handlers.staff_pages import csrf_checked_form, page, staff_or_login

routes = web.RouteTableDef()
STATE_WORDS = {
    "received": "Received",
    "assessed": "Needs assessed",
    "referred": "Referred to a service",
    "service_received": "Service received",
    "declined": "Declined",
    "unreachable": "Unreachable",
    "closed": "Closed",
}
#: The history's other entries, in words.
EVENT_WORDS = {
    **STATE_WORDS,
    "answered": "Answered",
    "contact_read": "Contact shown",
    "referred": "Referred to a service",
    "referral_received": "Referral: service received",
    "referral_declined": "Referral: declined",
    "referral_unreachable": "Referral: unreachable",
}


def scope_of(staff: StaffContext) -> Scope:
    """The officer's support scope; none at all is 404 (police never see support cases)."""
    officer = staff.officer
    scope = support_scope(
        admin=officer.role is Role.ADMIN, agency_code=officer.agency_code, area_code=officer.area_code
    )
    if scope is None:
        raise NotFound("no such page")
    return scope


@routes.get("/staff/support")
async def cases_page(request: web.Request) -> web.Response:
    staff = await staff_or_login(request)
    support = request.app[SERVICES].support
    scope = scope_of(staff)
    overdue = {c.id for c in await support.overdue(scope)}
    return page(
        request,
        "staff_support_cases.html",
        staff,
        cases=await support.cases(scope),
        overdue=overdue,
        states=STATE_WORDS,
        kind_label=support.content.kind_label,
    )


async def _case_page(
    request: web.Request, staff: StaffContext, case_id: int, *, status: int = 200, **extra: Any
) -> web.Response:
    support = request.app[SERVICES].support
    view = await support.page(case_id, scope_of(staff))
    return page(
        request,
        "staff_support_case.html",
        staff,
        status=status,
        view=view,
        states=STATE_WORDS,
        events=EVENT_WORDS,
        next_states=[s.value for s in State if s.value in _allowed(view.case.state)],
        providers=await support.providers(),
        kinds=support.content.kinds,
        kind_label=support.content.kind_label,
        **extra,
    )


def _allowed(state: State) -> set[str]:
    from core.support import TRANSITIONS

    return {s.value for s in TRANSITIONS[state]}


@routes.get(r"/staff/support/{case_id:\d+}")
async def case_page(request: web.Request) -> web.Response:
    staff = await staff_or_login(request)
    return await _case_page(request, staff, path_number(request, "case_id", "support case"))


@routes.post(r"/staff/support/{case_id:\d+}")
async def case_action(request: web.Request) -> web.Response:
    """One form, one action: move, answer, refer, outcome or show the contact."""
    staff = await staff_or_login(request)
    case_id = path_number(request, "case_id", "support case")
    scope = scope_of(staff)
    fields = await csrf_checked_form(request, staff)
    support = request.app[SERVICES].support
    action = fields.get("action", "")
    try:
        if action == "move":
            await support.move(
                case_id, State(fields.get("state", "")), scope, actor=staff.actor, note=fields.get("note", "")
            )
        elif action == "answer":
            await support.answer(case_id, scope, actor=staff.actor, message=fields.get("text", ""))
        elif action == "refer":
            kinds = [v for k, v in (await request.post()).items() if k == "kind" and isinstance(v, str)]
            await support.refer(
                case_id, int(fields.get("provider", "0") or 0), kinds, scope, actor=staff.actor
            )
        elif action == "outcome":
            await support.referral_outcome(
                case_id,
                int(fields.get("referral", "0") or 0),
                ReferralOutcome(fields.get("outcome", "")),
                scope,
                actor=staff.actor,
            )
        elif action == "contact":
            contact = await support.contact(case_id, scope, actor=staff.actor)
            return await _case_page(request, staff, case_id, contact=contact or "")
        else:
            raise web.HTTPBadRequest(text="unknown action")
    except NotFound:
        raise
    except (DomainError, ValueError) as exc:
        return await _case_page(request, staff, case_id, status=422, error=str(exc))
    raise web.HTTPSeeOther(f"/staff/support/{case_id}")


#: A report covers at most this many days (a year and a little): the annual report.
MAX_REPORT_DAYS = 400
REPORT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


async def report_choices(request: web.Request, staff: StaffContext) -> dict[str, Any]:
    """What the KPI page's report form offers: PDF where LibreOffice is installed, and the
    communes to choose from for an officer of the province (a commune's officer: its own)."""
    from handlers.establishment_context import staff_area, staff_scope
    from hotline import report as report_files

    communes: list[tuple[str, str]] = []
    if staff_area(staff) is None:
        communes = await request.app[SERVICES].establishments.communes(staff_scope(staff))
    return {"report_pdf": report_files.soffice() is not None, "report_communes": communes}


@routes.get("/staff/report")
async def report_download(request: web.Request) -> web.Response:
    """The periodic report for the officer's area (a commune, or the province: the sum of
    its communes; an officer of the province may pick one commune), the same file
    `hotline report` writes; PDF only where LibreOffice is."""
    import tempfile
    from datetime import date
    from pathlib import Path

    from core.kpi import Period
    from handlers.establishment_context import staff_area, staff_scope
    from hotline import report as report_files

    staff = await staff_or_login(request)
    fmt = request.query.get("format", "xlsx")
    if fmt not in REPORT_TYPES:
        raise web.HTTPBadRequest(text="format is xlsx, docx or pdf")
    if fmt == "pdf" and report_files.soffice() is None:
        raise web.HTTPBadRequest(
            text="PDF needs LibreOffice, which is not installed on this server; choose docx"
        )
    try:
        period = Period(date.fromisoformat(request.query["from"]), date.fromisoformat(request.query["to"]))
    except (KeyError, ValueError, DomainError):
        raise web.HTTPBadRequest(text="give from=YYYY-MM-DD and to=YYYY-MM-DD") from None
    if (period.end - period.start).days > MAX_REPORT_DAYS:
        raise web.HTTPBadRequest(text=f"a report covers at most {MAX_REPORT_DAYS} days")
    services = request.app[SERVICES]
    area = staff_area(staff)
    wanted = request.query.get("commune", "").strip()
    if wanted and wanted != area:
        # Narrowing only: an officer of the province may pick one of its communes.
        allowed = {code for code, _ in await services.establishments.communes(staff_scope(staff))}
        if area is not None or wanted not in allowed:
            raise web.HTTPNotFound(text="no such commune")
        area = wanted
    found = await report_files.gather(services, period, area)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"report.{fmt}"
        try:
            await report_files.write_async(found, fmt, out)
        except report_files.ConversionFailed:
            raise web.HTTPServiceUnavailable(text="the PDF could not be made; try docx") from None
        body = out.read_bytes()
    name = f"bao-cao-{period.start.isoformat()}-{period.end.isoformat()}.{fmt}"
    return web.Response(
        body=body,
        content_type=REPORT_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@routes.get("/staff/support/providers")
async def providers_page(request: web.Request) -> web.Response:
    """The directory of service providers, each editable, and a form to add one."""
    staff = await staff_or_login(request)
    scope_of(staff)
    support = request.app[SERVICES].support
    return page(
        request,
        "staff_support_providers.html",
        staff,
        providers=await support.providers(),
        kinds=support.content.kinds,
        kind_label=support.content.kind_label,
    )


@routes.post("/staff/support/providers")
async def providers_save(request: web.Request) -> web.Response:
    """Add a provider (no id) or change one; a bad form shows the directory again with why."""
    from core.support import Provider

    staff = await staff_or_login(request)
    scope_of(staff)
    fields = await csrf_checked_form(request, staff)
    support = request.app[SERVICES].support
    kinds = tuple(v for k, v in (await request.post()).items() if k == "kind" and isinstance(v, str))
    try:
        raw_id = fields.get("id", "")
        if raw_id and not (raw_id.isascii() and raw_id.isdigit() and len(raw_id) < 18):
            raise web.HTTPBadRequest(text="no such provider")
        provider = Provider(
            int(raw_id or 0),
            fields.get("name", "").strip()[:201],
            kinds,
            tuple(c.strip() for c in fields.get("communes", "").split(",") if c.strip())[:500],
            fields.get("contact", "").strip()[:300],
            fields.get("free") == "yes",
        )
        if provider.id:
            await support.update_provider(provider, actor=staff.actor)
        else:
            await support.import_providers([provider])
    except NotFound:
        raise
    except DomainError:
        return page(
            request,
            "staff_support_providers.html",
            staff,
            status=422,
            error=True,
            providers=await support.providers(),
            kinds=support.content.kinds,
            kind_label=support.content.kind_label,
        )
    raise web.HTTPSeeOther("/staff/support/providers")
