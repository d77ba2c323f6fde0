"""Staff workspace pages under /staff/: sign-in with TOTP, the queue, a tip with its
history, triage proposal, conversation and actions, and the KPI table.

Server-rendered; no scripts except two same-origin files (the queue's live urgent tips,
the KPI charts), allowed on those two pages only by their CSP. Each POST carries the session's CSRF
token in a hidden field, calls one service and redirects back (303), or re-renders the
page with the core's explanation when the service refuses.
"""

from __future__ import annotations

import hmac
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import segno
from aiohttp import web
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.calendar import VN_TZ
from core.categories import Category
from core.errors import AccountLocked, CsrfRefused, DomainError, EnrolmentRequired, NotFound, NotSignedIn
from core.kpi import Period
from core.officers import Role
from core.queue import deadline_badge
from core.reach import area_for
from core.services import TransitionRequest
from core.staff import StaffContext
from core.stages import TERMINAL, Stage, allowed_moves
from core.triage import explain
from handlers import staff_names
from handlers.clients import source_of
from handlers.establishment_context import kpi_indicators, tip_establishments
from handlers.i18n import language
from handlers.keys import SERVICES
from handlers.pages import CSRF_COOKIE, CSRF_FIELD, communes, render
from handlers.schemas import QueueQuery, report_date
from handlers.staff_api import (
    SESSION_COOKIE,
    send_attachment,
    send_kpi_csv,
    set_session_cookie,
    tip_id_of,
)
from handlers.staff_charts import channel_json, chart_json

routes = web.RouteTableDef()
#: Who sees the reach section on the KPI page (and manages outreach: handlers/staff_outreach.py).
REACH_ROLES = (Role.SUPERVISOR, Role.ADMIN)
LOGIN = "/staff/login"
#: The queue and the KPI page load our own scripts (live urgent tips, charts): same-origin
#: files only, never inline; the stream and chart data come from us too.
#: (handlers.app.PAGE_CSP plus those two; tests compare them.)
TIP_PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; script-src 'self'"
)
SCRIPT_PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; script-src 'self'; connect-src 'self'"
)


def _blank(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class LoginForm(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)
    otp: str = Field(default="", max_length=10)


class TransitionForm(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    to: Stage
    reason: str = Field(default="", max_length=4000)
    category: Category | None = None
    urgent: bool | None = None
    to_agency: str | None = Field(default=None, max_length=40)
    duplicate_of: int | None = Field(default=None, ge=1)
    expected_stage: Stage | None = None

    _blanks = field_validator(
        "category", "urgent", "to_agency", "duplicate_of", "expected_stage", mode="before"
    )(_blank)


class ExtendForm(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    reason: str = Field(min_length=1, max_length=4000)


class ReplyForm(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    text: str = Field(min_length=1, max_length=10_000)


async def staff_or_login(request: web.Request) -> StaffContext:
    """The signed-in officer, or a redirect to the sign-in page."""
    try:
        staff = await request.app[SERVICES].staff.session(request.cookies.get(SESSION_COOKIE, ""))
    except NotSignedIn:
        raise web.HTTPSeeOther(LOGIN) from None
    await staff_names.names(request)  # pages show communes and agencies by name
    return staff


async def csrf_checked_form(request: web.Request, staff: StaffContext) -> dict[str, str]:
    """A staff form's fields, once its hidden CSRF token matched the session's."""
    if request.content_type != "application/x-www-form-urlencoded":
        raise web.HTTPUnsupportedMediaType(text="send the form as a browser does")
    fields = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    if not staff.csrf_matches(fields.pop(CSRF_FIELD, "")):
        raise CsrfRefused("this form has expired; reload the page")
    return fields


def page(
    request: web.Request, template: str, staff: StaffContext | None, *, status: int = 200, **context: Any
) -> web.Response:
    """Staff pages are never cached: they show tips, and the enrolment page a secret."""
    known = request.get(staff_names.NAMES_KEY) or staff_names.Names()
    return render(request, template, status=status, no_store=True, staff=staff, names=known, **context)


@routes.get(LOGIN)
async def login_form(request: web.Request) -> web.Response:
    return page(request, "staff_login.html", None)


@routes.post(LOGIN)
async def login(request: web.Request) -> web.Response:
    """Password and authenticator code; a session cookie and the queue on success."""
    fields = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not (cookie and hmac.compare_digest(cookie, fields.get(CSRF_FIELD, ""))):
        return page(request, "staff_login.html", None, status=403, problem="csrf")
    try:
        form = LoginForm.model_validate(fields)
        signed = await request.app[SERVICES].staff.sign_in(
            form.username, form.password, form.otp, source=await source_of(request)
        )
    except EnrolmentRequired as exc:
        # Our own SVG from segno (no text of the user's in it), so it is safe to inline.
        qr = Markup(segno.make(exc.uri, error="m").svg_inline(scale=4, title="QR"))  # noqa: S704
        return page(request, "staff_enrol.html", None, qr=qr, secret=exc.secret, username=form.username)
    except (ValidationError, DomainError) as exc:
        locked = isinstance(exc, AccountLocked)
        return page(
            request,
            "staff_login.html",
            None,
            status=429 if locked else 401,
            problem="locked" if locked else "refused",
        )
    response = web.HTTPSeeOther("/staff/")
    set_session_cookie(request, response, signed.token)
    raise response


@routes.post("/staff/logout")
async def logout(request: web.Request) -> web.Response:
    staff = await staff_or_login(request)
    fields = await csrf_checked_form(request, staff)
    await request.app[SERVICES].staff.sign_out(staff, everywhere=fields.get("everywhere") == "1")
    response = web.HTTPSeeOther(LOGIN)
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


@routes.get("/staff")
async def staff_root(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/staff/")


@routes.get("/staff/")
async def queue(request: web.Request) -> web.Response:
    """The officer's queue: urgent first, then nearest deadline, with deadline badges."""
    staff = await staff_or_login(request)
    query = QueueQuery.model_validate({k: v for k, v in request.query.items() if v != ""})
    services = request.app[SERVICES]
    result = await services.tips.queue(staff.jurisdiction, query.to_filter())
    now = services.tips.clock()
    rows = [(item, deadline_badge(item.next_due_at, item.at_risk_at, now).value) for item in result.items]
    next_query = None
    if result.next is not None:
        params = {k: v for k, v in request.query.items() if k != "next" and v != ""}
        params["next"] = result.next.encode()
        next_query = urlencode(params)
    notified = [
        n
        for n in await services.notifications.inbox(staff.jurisdiction, limit=200)
        if (query.stage == n.stage if query.stage else n.stage not in TERMINAL)
        and (query.category is None or n.category == query.category)
        and (not query.urgent or n.urgent)
    ][:20]
    response = page(
        request,
        "staff_queue.html",
        staff,
        rows=rows,
        query=query,
        next_query=next_query,
        stages=list(Stage),
        categories=list(Category),
        notified=notified,
        communes=await communes(request),
    )
    response.headers["Content-Security-Policy"] = SCRIPT_PAGE_CSP
    return response


async def tip_page(
    request: web.Request, staff: StaffContext, *, status: int = 200, error: str = ""
) -> web.Response:
    services = request.app[SERVICES]
    tip_id = tip_id_of(request)
    tip, history = await services.tips.view(tip_id, staff.actor, staff.jurisdiction)
    messages = await services.tips.thread(tip_id, staff.jurisdiction)
    attachments = await services.tips.attachments(tip_id, staff.jurisdiction)
    notes = await services.tips.notes(tip_id, staff.jurisdiction)
    badge = deadline_badge(tip.next_due(), None, services.tips.clock()).value
    registration = await services.registrations.record(tip_id, staff.jurisdiction)
    response = page(
        request,
        "staff_tip.html",
        staff,
        status=status,
        tip=tip,
        history=history,
        messages=messages,
        attachments=attachments,
        notes=notes,
        badge=badge,
        registration=registration,
        error=error,
        stages=list(Stage),
        categories=list(Category),
        moves={m.value for m in allowed_moves(tip.stage, [h.to_stage for h in history])},
        triage_reasons=explain.render(tip.triage, language(request)),
        triage_language=explain.word(f"language.{(tip.triage or {}).get('language')}", language(request)),
        establishment_links=await tip_establishments(request, staff, tip),
    )
    # The referral list's search box is a same-origin script (the page works without it).
    response.headers["Content-Security-Policy"] = TIP_PAGE_CSP
    return response


@routes.get("/staff/tips/{tip_id}")
async def show_tip(request: web.Request) -> web.Response:
    """One tip; the read is audited. A tip notified to the officer's unit (not owned by
    it) is shown read-only, without actions, notes, files or the conversation."""
    staff = await staff_or_login(request)
    try:
        return await tip_page(request, staff)
    except NotFound:
        services = request.app[SERVICES]
        tip, history = await services.notifications.read(tip_id_of(request), staff.actor, staff.jurisdiction)
        return page(request, "staff_notified.html", staff, tip=tip, history=history)


@routes.get("/staff/tips/{tip_id}/attachments/{number}")
async def attachment(request: web.Request) -> web.Response:
    """A file of the tip, downloaded (audited) by a signed-in officer of its jurisdiction."""
    return await send_attachment(request, await staff_or_login(request))


async def act(request: web.Request, action: str) -> web.Response:
    staff = await staff_or_login(request)
    fields = await csrf_checked_form(request, staff)
    tips = request.app[SERVICES].tips
    tip_id = tip_id_of(request)
    try:
        if action == "transition":
            form = TransitionForm.model_validate(fields)
            await tips.transition(
                tip_id,
                TransitionRequest(
                    target=form.to,
                    actor=staff.actor,
                    reason=form.reason,
                    expected_stage=form.expected_stage,
                    category=form.category,
                    urgent=form.urgent,
                    to_agency=form.to_agency,
                    duplicate_of=form.duplicate_of,
                ),
                staff.jurisdiction,
            )
        elif action == "extend":
            extend = ExtendForm.model_validate(fields)
            await tips.extend_deadline(
                tip_id, actor=staff.actor, reason=extend.reason, within=staff.jurisdiction
            )
        elif action == "note":
            written = ReplyForm.model_validate(fields)
            await tips.add_note(tip_id, actor=staff.actor, text=written.text, within=staff.jurisdiction)
        else:
            reply = ReplyForm.model_validate(fields)
            await tips.reply(tip_id, actor=staff.actor, text=reply.text, within=staff.jurisdiction)
    except ValidationError as exc:
        names = ",".join(sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]}))
        return await tip_page(request, staff, status=422, error="fields:" + names)
    except DomainError as exc:
        if exc.code == "not_found":
            raise
        # The page explains the refusal in words by its code; the English message is for the API.
        return await tip_page(
            request,
            staff,
            status=409 if exc.code in ("illegal_transition", "conflict") else 422,
            error=exc.code,
        )
    raise web.HTTPSeeOther(f"/staff/tips/{tip_id}")


@routes.post("/staff/tips/{tip_id}/transition")
async def transition(request: web.Request) -> web.Response:
    """Verify, classify, process, refer, or close as duplicate, spam or unfounded."""
    return await act(request, "transition")


@routes.post("/staff/tips/{tip_id}/extend")
async def extend(request: web.Request) -> web.Response:
    return await act(request, "extend")


@routes.post("/staff/tips/{tip_id}/note")
async def note(request: web.Request) -> web.Response:
    """A note for colleagues on the tip; the reporter never sees it."""
    return await act(request, "note")


@routes.post("/staff/tips/{tip_id}/reply")
async def reply(request: web.Request) -> web.Response:
    """An anonymous answer the reporter reads on the status page."""
    return await act(request, "reply")


class KpiForm(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    start: date | None = Field(default=None, alias="from")
    end: date | None = Field(default=None, alias="to")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _dates(cls, value: Any) -> Any:
        """Blank is the default period; otherwise a date between 2000 and 2100."""
        value = _blank(value)
        return None if value is None else report_date(value)


@routes.get("/staff/kpi.csv")
async def kpi_csv(request: web.Request) -> web.Response:
    """The KPI table of the page, as a CSV download (audited)."""
    return await send_kpi_csv(request, await staff_or_login(request))


@routes.get("/staff/kpi")
async def kpi(request: web.Request) -> web.Response:
    """The KPI table for a period (default: the last 30 days), within the jurisdiction."""
    staff = await staff_or_login(request)
    services = request.app[SERVICES]
    today = services.tips.clock().astimezone(VN_TZ).date()
    form = KpiForm.model_validate(dict(request.query))
    end = form.end or today
    start = form.start or end - timedelta(days=29)
    if start > end:
        start, end = end, start
    period = Period(start, end)
    # One query set for the table and the charts: the same numbers by construction.
    dash = await services.charts.dashboard(period, services.tips.clock(), staff.jurisdiction)
    charts = chart_json(dash, period, language(request))
    known = request.get(staff_names.NAMES_KEY) or staff_names.Names()
    charts["workload"]["labels"] = [known.agency(code) for code in charts["workload"]["labels"]]
    # The page writes weeks as a Vietnamese reader does (the API keeps ISO dates).
    charts["weeks"]["labels"] = [
        date.fromisoformat(w).strftime("%d/%m/%Y") for w in charts["weeks"]["labels"]
    ]
    by_channel = await services.channel_kpi(period, services.tips.clock(), staff.jurisdiction)
    charts["by_channel"] = channel_json(by_channel, language(request))
    # Reach of the prevention news: province-wide, for those who manage outreach.
    reach = None
    if staff.officer.role in REACH_ROLES:
        reach = await services.reach.report(period, area_for(staff.officer))
    corrections = await services.tips.triage_corrections(period, staff.jurisdiction)
    from handlers.staff_support import report_choices  # it imports this module

    response = page(
        request,
        "staff_kpi.html",
        staff,
        report=charts["kpi"],
        charts=charts,
        start=start,
        end=end,
        reach=reach,
        corrections=corrections,
        indicators=await kpi_indicators(request, staff, period),
        by_channel=charts["by_channel"],
        **await report_choices(request, staff),
    )
    response.headers["Content-Security-Policy"] = SCRIPT_PAGE_CSP
    return response
