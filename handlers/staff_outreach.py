"""Staff workspace pages for youth outreach: the content library (write, review,
publish, retire), campaigns (create, pause, resume, cancel, progress), reach against the
plan's targets with the population denominators, and the knowledge base's "did this help?"
counts.

Supervisors and administrators manage outreach; entering a population is for
administrators. Every POST carries the session's CSRF token, calls one service, and
redirects (303) or re-renders the page with the core's explanation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.calendar import VN_TZ
from core.chat.ports import AUDIENCES
from core.errors import DomainError
from core.kpi import Period
from core.learn import views_by_audience
from core.officers import Role
from core.outreach.content import ContentDraft, ItemState
from core.reach import area_for
from core.staff import StaffContext
from handlers.keys import SERVICES
from handlers.pages import communes
from handlers.parsing import path_number
from handlers.staff_pages import csrf_checked_form, page, staff_or_login

routes = web.RouteTableDef()
MANAGERS = (Role.SUPERVISOR, Role.ADMIN)
LANGS = ("vi", "en")


def _blank(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class ItemForm(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    audience: str = Field(pattern="^(" + "|".join(AUDIENCES) + ")$")
    language: str = Field(pattern="^(vi|en)$")
    title: str = Field(default="", max_length=120)
    text: str = Field(min_length=1, max_length=4096)
    link: str | None = Field(default=None, max_length=500)
    group: str | None = Field(default=None, max_length=64)

    _blanks = field_validator("link", "group", mode="before")(_blank)


class CampaignForm(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    item_id: int = Field(ge=1)
    audience: str = Field(pattern="^(" + "|".join(AUDIENCES) + ")$")
    area_code: str | None = Field(default=None, pattern=r"^\d{2}(\d{3})?$")
    #: Viet Nam's wall-clock time from a `datetime-local` field; empty: now.
    send_at: datetime | None = None

    _blanks = field_validator("area_code", "send_at", mode="before")(_blank)

    def scheduled(self) -> datetime | None:
        if self.send_at is None:
            return None
        return self.send_at if self.send_at.tzinfo else self.send_at.replace(tzinfo=VN_TZ)


class PopulationForm(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    audience: str = Field(pattern="^(" + "|".join(AUDIENCES) + ")$")
    count: int = Field(ge=1, le=200_000_000)
    area_code: str | None = Field(default=None, pattern=r"^\d{2}(\d{3})?$")

    _blanks = field_validator("area_code", mode="before")(_blank)


class PeriodForm(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    start: date | None = Field(default=None, alias="from")
    end: date | None = Field(default=None, alias="to")
    area: str | None = Field(default=None, pattern=r"^\d{2}(\d{3})?$")

    _blanks = field_validator("start", "end", "area", mode="before")(_blank)


async def require_manager(request: web.Request, *, admin_only: bool = False) -> StaffContext:
    """The signed-in supervisor or administrator; others get 403."""
    staff = await staff_or_login(request)
    allowed = (Role.ADMIN,) if admin_only else MANAGERS
    if staff.officer.role not in allowed:
        raise web.HTTPForbidden(text="outreach is managed by supervisors and administrators")
    return staff


def _problem(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, ValidationError):
        return 422, ", ".join(sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]}))
    code = getattr(exc, "code", "")
    return (409 if code in ("illegal_transition", "conflict", "duplicate_key") else 422), str(exc)


#: A content or campaign move: `(id, by=actor)`, raising DomainError when refused.
Step = Callable[..., Awaitable[object]]
#: The page to show again, with the refusal, when a move is refused.
ShowPage = Callable[..., Awaitable[web.Response]]


async def _take_step(
    request: web.Request, staff: StaffContext, steps: dict[str, Step], target: int, show: ShowPage, done: str
) -> web.Response:
    """The `{action}` of the URL on `target`; a refusal shows the page again with why,
    success goes back to it (post/redirect/get)."""
    action = request.match_info["action"]
    if action not in steps:
        raise web.HTTPNotFound(text="no such action")
    try:
        await steps[action](target, by=staff.actor)
    except DomainError as exc:
        if exc.code == "not_found":
            raise
        status, error = _problem(exc)
        return await show(request, staff, status=status, error=error)
    raise web.HTTPSeeOther(done)


def default_period(request: web.Request, form: PeriodForm) -> Period:
    """The form's period, else the last 30 days."""
    today = request.app[SERVICES].tips.clock().astimezone(VN_TZ).date()
    end = form.end or today
    start = form.start or end - timedelta(days=29)
    return Period(min(start, end), max(start, end))


# --- content library ----------------------------------------------------------------------


async def content_page(
    request: web.Request, staff: StaffContext, *, status: int = 200, error: str = "", form: Any = None
) -> web.Response:
    state = request.query.get("state", "")
    audience = request.query.get("audience", "")
    items = await request.app[SERVICES].outreach.list_items(
        state=ItemState(state) if state in {s.value for s in ItemState} else None,
        audience=audience if audience in AUDIENCES else None,
    )
    return page(
        request,
        "staff_content.html",
        staff,
        status=status,
        items=items,
        states=list(ItemState),
        audiences=AUDIENCES,
        langs=LANGS,
        chosen_state=state,
        chosen_audience=audience,
        error=error,
        form=form or {},
    )


@routes.get("/staff/content")
async def content_list(request: web.Request) -> web.Response:
    """The library, newest first, with a form to write a new item."""
    return await content_page(request, await require_manager(request))


@routes.post("/staff/content")
async def content_create(request: web.Request) -> web.Response:
    """A new draft; it needs a review before it can be published."""
    staff = await require_manager(request)
    fields = await csrf_checked_form(request, staff)
    try:
        form = ItemForm.model_validate(fields)
        item = await request.app[SERVICES].outreach.create_item(
            ContentDraft(
                audience=form.audience,
                language=form.language,
                text=form.text,
                title=form.title,
                link=form.link,
                group=form.group,
            ),
            by=staff.actor,
        )
    except (ValidationError, DomainError) as exc:
        status, error = _problem(exc)
        return await content_page(request, staff, status=status, error=error, form=fields)
    raise web.HTTPSeeOther(f"/staff/content/{item.id}")


def _item_id(request: web.Request) -> int:
    return path_number(request, "item_id", "item")


async def item_page(
    request: web.Request, staff: StaffContext, *, status: int = 200, error: str = ""
) -> web.Response:
    outreach = request.app[SERVICES].outreach
    item = await outreach.get_item(_item_id(request))
    return page(
        request,
        "staff_content_item.html",
        staff,
        status=status,
        item=item,
        versions=await outreach.translations(item),
        error=error,
    )


@routes.get("/staff/content/{item_id}")
async def content_item(request: web.Request) -> web.Response:
    """One item: its text, who wrote, reviewed and published it, and the next steps."""
    return await item_page(request, await require_manager(request))


@routes.post("/staff/content/{item_id}/{action}")
async def content_action(request: web.Request) -> web.Response:
    """review, publish, back to draft, retire."""
    staff = await require_manager(request)
    await csrf_checked_form(request, staff)
    outreach = request.app[SERVICES].outreach
    steps: dict[str, Step] = {
        "review": outreach.review_item,
        "publish": outreach.publish_item,
        "draft": outreach.return_to_draft,
        "retire": outreach.retire_item,
    }
    item_id = _item_id(request)
    return await _take_step(request, staff, steps, item_id, item_page, f"/staff/content/{item_id}")


# --- campaigns --------------------------------------------------------------------------


async def campaigns_page(
    request: web.Request, staff: StaffContext, *, status: int = 200, error: str = "", form: Any = None
) -> web.Response:
    outreach = request.app[SERVICES].outreach
    campaigns = await outreach.list_campaigns(limit=100)
    published = await outreach.list_items(state=ItemState.PUBLISHED)
    return page(
        request,
        "staff_campaigns.html",
        staff,
        status=status,
        campaigns=campaigns,
        published=published,
        audiences=AUDIENCES,
        communes=await communes(request),
        error=error,
        form=form or {},
    )


@routes.get("/staff/campaigns")
async def campaign_list(request: web.Request) -> web.Response:
    """Campaigns, newest first, with a form to send a published item."""
    staff = await require_manager(request)
    return await campaigns_page(request, staff, form={"item_id": request.query.get("item", "")})


@routes.post("/staff/campaigns")
async def campaign_create(request: web.Request) -> web.Response:
    """Send a published item to an audience (and optionally an area), now or later."""
    staff = await require_manager(request)
    fields = await csrf_checked_form(request, staff)
    try:
        form = CampaignForm.model_validate(fields)
        campaign = await request.app[SERVICES].outreach.create_campaign(
            form.item_id, form.audience, by=staff.actor, area_code=form.area_code, at=form.scheduled()
        )
    except (ValidationError, DomainError) as exc:
        status, error = _problem(exc)
        return await campaigns_page(request, staff, status=status, error=error, form=fields)
    raise web.HTTPSeeOther(f"/staff/campaigns/{campaign.id}")


def _campaign_id(request: web.Request) -> int:
    return path_number(request, "campaign_id", "campaign")


async def campaign_page(
    request: web.Request, staff: StaffContext, *, status: int = 200, error: str = ""
) -> web.Response:
    progress = await request.app[SERVICES].outreach.progress(_campaign_id(request))
    return page(request, "staff_campaign.html", staff, status=status, progress=progress, error=error)


@routes.get("/staff/campaigns/{campaign_id}")
async def campaign_show(request: web.Request) -> web.Response:
    """Progress: counts per delivery state and the sending rate."""
    return await campaign_page(request, await require_manager(request))


@routes.post("/staff/campaigns/{campaign_id}/{action}")
async def campaign_action(request: web.Request) -> web.Response:
    """pause, resume, cancel."""
    staff = await require_manager(request)
    await csrf_checked_form(request, staff)
    outreach = request.app[SERVICES].outreach
    steps: dict[str, Step] = {
        "pause": outreach.pause_campaign,
        "resume": outreach.resume_campaign,
        "cancel": outreach.cancel_campaign,
    }
    campaign_id = _campaign_id(request)
    done = f"/staff/campaigns/{campaign_id}"
    return await _take_step(request, staff, steps, campaign_id, campaign_page, done)


# --- reach and knowledge-base feedback ---------------------------------------------------


async def reach_page(
    request: web.Request, staff: StaffContext, *, status: int = 200, error: str = ""
) -> web.Response:
    services = request.app[SERVICES]
    form = PeriodForm.model_validate(dict(request.query))
    period = default_period(request, form)
    # A commune's supervisor sees their commune's reach only.
    area = area_for(staff.officer) or form.area
    reach = await services.reach.report(period, area)
    views = await services.learn.views(period.start, period.end)
    return page(
        request,
        "staff_reach_page.html",
        staff,
        status=status,
        error=error,
        reach=reach,
        reached={line.audience: line.reached for line in reach.lines},
        web_views=views_by_audience(views),
        top_views=views[:10],
        populations=await services.reach.populations(),
        audiences=AUDIENCES,
        communes=await communes(request),
        start=period.start,
        end=period.end,
        area=area or "",
        can_edit=staff.officer.role == Role.ADMIN,
    )


@routes.get("/staff/reach")
async def reach(request: web.Request) -> web.Response:
    """Reach per audience for a period against the plan's targets, and the denominators."""
    return await reach_page(request, await require_manager(request))


@routes.post("/staff/reach/population")
async def set_population(request: web.Request) -> web.Response:
    """An administrator enters how many people an audience counts (in an area)."""
    staff = await require_manager(request, admin_only=True)
    fields = await csrf_checked_form(request, staff)
    try:
        form = PopulationForm.model_validate(fields)
        await request.app[SERVICES].reach.set_population(
            form.audience, form.count, area_code=form.area_code, by=staff.actor
        )
    except (ValidationError, DomainError) as exc:
        status, error = _problem(exc)
        return await reach_page(request, staff, status=status, error=error)
    raise web.HTTPSeeOther("/staff/reach")


@routes.get("/staff/knowledge")
async def knowledge(request: web.Request) -> web.Response:
    """ "Did this help?" counts per knowledge-base entry, least helpful first."""
    staff = await require_manager(request)
    services = request.app[SERVICES]
    base = services.answers.base
    rows = []
    for count in await services.answers.counts():
        entry = base.get(count.entry_id)
        total = count.helped + count.not_helped
        rows.append(
            (count, entry.question(count.language) if entry else "", count.helped / total if total else 0)
        )
    rows.sort(key=lambda r: (r[2], -r[0].not_helped))
    return page(request, "staff_knowledge.html", staff, rows=rows)


def reach_for_kpi(staff: StaffContext) -> bool:
    """The KPI page shows the reach section to those who manage outreach."""
    return staff.officer.role in MANAGERS
