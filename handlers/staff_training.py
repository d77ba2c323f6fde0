"""Training sessions, staff counts per level and offline outreach activities in the staff
workspace (`/staff/support/training`, `/staff/support/staff-counts`,
`/staff/support/activities`): the same service calls as `hotline training` and
`hotline outreach-activity`, within the officer's area (a commune's officer records only
its own agencies and commune); police and other units get 404 as on the support pages."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web

from core.errors import DomainError, InvalidInput
from core.support import ACTIVITY_KINDS, Activity, Level, TrainingSession, agency_in_area
from handlers.establishment_context import staff_area
from handlers.keys import SERVICES
from handlers.parsing import path_number
from handlers.schemas import report_date
from handlers.staff_names import NAMES_KEY, Names
from handlers.staff_pages import csrf_checked_form, page, staff_or_login
from handlers.staff_support import scope_of

routes = web.RouteTableDef()
#: A session lists at most this many participating agencies (the form's rows).
PARTICIPANT_ROWS = 3
KIND_WORDS = {"meeting": "Meeting", "poster": "Poster drive", "school_talk": "School talk", "other": "Other"}
LEVEL_WORDS = {"province": "Province level", "commune": "Commune level"}


def _agencies(request: web.Request, area: str | None) -> list[tuple[str, str]]:
    known = request.get(NAMES_KEY) or Names()
    return [(code, name) for code, name in known.agency_choices() if agency_in_area(code, area)]


def _date(text: str) -> date:
    try:
        found = report_date(text.strip())
    except ValueError:
        raise InvalidInput("a date is YYYY-MM-DD between 2000 and 2100") from None
    if not isinstance(found, date):
        raise InvalidInput("a date is YYYY-MM-DD between 2000 and 2100")
    return found


def _count(text: str, what: str) -> int:
    text = text.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 9):
        raise InvalidInput(f"{what} is a whole number")
    return int(text)


def _level(text: str) -> Level:
    try:
        return Level(text)
    except ValueError:
        raise InvalidInput("a level is province or commune") from None


# --- training sessions ---------------------------------------------------------------------


async def _training_page(request: web.Request, *, status: int = 200, **extra: Any) -> web.Response:
    staff = await staff_or_login(request)
    scope_of(staff)
    area = staff_area(staff)
    support = request.app[SERVICES].support
    return page(
        request,
        "staff_training.html",
        staff,
        status=status,
        sessions=await support.trainings(area),
        agencies=_agencies(request, area),
        levels=LEVEL_WORDS,
        default_level="province" if area is None else "commune",
        rows=range(PARTICIPANT_ROWS),
        **extra,
    )


@routes.get("/staff/support/training")
async def training_page(request: web.Request) -> web.Response:
    """The area's training sessions, newest first, and a form to record one."""
    return await _training_page(request)


@routes.post("/staff/support/training")
async def training_add(request: web.Request) -> web.Response:
    staff = await staff_or_login(request)
    scope_of(staff)
    fields = await csrf_checked_form(request, staff)
    form = await request.post()
    agencies = [v for v in form.getall("participant_agency", []) if isinstance(v, str)]
    numbers = [v for v in form.getall("participant_count", []) if isinstance(v, str)]
    try:
        if len(agencies) > PARTICIPANT_ROWS or len(numbers) > PARTICIPANT_ROWS:
            raise InvalidInput(f"at most {PARTICIPANT_ROWS} agencies per session")
        participants: dict[str, int] = {}
        for agency, number in zip(agencies, numbers, strict=False):
            if not agency.strip() and not number.strip():
                continue
            if agency.strip() in participants:
                raise InvalidInput("an agency is listed twice")
            participants[agency.strip()] = _count(number, "participants")
        session = TrainingSession(
            _date(fields.get("date", "")),
            _level(fields.get("level", "")),
            fields.get("agency", "").strip(),
            fields.get("topic", "").strip(),
            participants,
        )
        await request.app[SERVICES].support.add_training(session, actor=staff.actor, area=staff_area(staff))
    except DomainError:
        return await _training_page(request, status=422, error=True)
    raise web.HTTPSeeOther("/staff/support/training")


@routes.post(r"/staff/support/training/{record_id:\d+}/delete")
async def training_delete(request: web.Request) -> web.Response:
    staff = await staff_or_login(request)
    scope_of(staff)
    await csrf_checked_form(request, staff)
    record = path_number(request, "record_id", "training session")
    await request.app[SERVICES].support.delete_training(record, actor=staff.actor, area=staff_area(staff))
    raise web.HTTPSeeOther("/staff/support/training")


# --- staff counts --------------------------------------------------------------------------


async def _counts_page(request: web.Request, *, status: int = 200, **extra: Any) -> web.Response:
    staff = await staff_or_login(request)
    scope_of(staff)
    area = staff_area(staff)
    counts = await request.app[SERVICES].support.staff_counts(area)
    return page(
        request,
        "staff_staff_counts.html",
        staff,
        status=status,
        counts=counts,
        agencies=_agencies(request, area),
        levels=LEVEL_WORDS,
        default_level="province" if area is None else "commune",
        **extra,
    )


@routes.get("/staff/support/staff-counts")
async def counts_page(request: web.Request) -> web.Response:
    """Each agency's staff at province and commune level: the trained-staff denominators."""
    return await _counts_page(request)


@routes.post("/staff/support/staff-counts")
async def counts_set(request: web.Request) -> web.Response:
    """Set (add or change) one agency's count at one level."""
    staff = await staff_or_login(request)
    scope_of(staff)
    fields = await csrf_checked_form(request, staff)
    try:
        await request.app[SERVICES].support.set_staff(
            fields.get("agency", "").strip(),
            _level(fields.get("level", "")),
            _count(fields.get("staff", ""), "a staff count"),
            actor=staff.actor,
            area=staff_area(staff),
        )
    except DomainError:
        return await _counts_page(request, status=422, error=True)
    raise web.HTTPSeeOther("/staff/support/staff-counts")


# --- offline outreach activities -----------------------------------------------------------


async def _activities_page(request: web.Request, *, status: int = 200, **extra: Any) -> web.Response:
    staff = await staff_or_login(request)
    scope = scope_of(staff)
    services = request.app[SERVICES]
    return page(
        request,
        "staff_activities.html",
        staff,
        status=status,
        activities=await services.support.activities(staff_area(staff)),
        communes=await services.establishments.communes(scope),
        kinds=KIND_WORDS,
        **extra,
    )


@routes.get("/staff/support/activities")
async def activities_page(request: web.Request) -> web.Response:
    """The area's offline outreach (meetings, poster drives, school talks) and a form."""
    return await _activities_page(request)


@routes.post("/staff/support/activities")
async def activities_add(request: web.Request) -> web.Response:
    staff = await staff_or_login(request)
    scope_of(staff)
    fields = await csrf_checked_form(request, staff)
    try:
        kind = fields.get("kind", "")
        if kind not in ACTIVITY_KINDS:
            raise InvalidInput("unknown kind of activity")
        activity = Activity(
            _date(fields.get("date", "")),
            fields.get("commune", "").strip()[:9],
            kind,
            " ".join(fields.get("audience", "").split()),
            _count(fields.get("reached", ""), "the number reached"),
        )
        await request.app[SERVICES].support.add_activity(activity, actor=staff.actor, area=staff_area(staff))
    except DomainError:
        return await _activities_page(request, status=422, error=True)
    raise web.HTTPSeeOther("/staff/support/activities")


@routes.post(r"/staff/support/activities/{record_id:\d+}/delete")
async def activities_delete(request: web.Request) -> web.Response:
    staff = await staff_or_login(request)
    scope_of(staff)
    await csrf_checked_form(request, staff)
    record = path_number(request, "record_id", "outreach activity")
    await request.app[SERVICES].support.delete_activity(record, actor=staff.actor, area=staff_area(staff))
    raise web.HTTPSeeOther("/staff/support/activities")
