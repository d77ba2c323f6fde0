"""Registering a tip for someone (phone, in person, letter, tip box, forwarded): the JSON
route `POST /api/v1/staff/tips`, the form in the staff workspace and its printable
receipt, a named informant's identity for the owning unit, and the KPI by channel.

The officer registers into their own unit; the answer carries the receipt code and the
passphrase to read to a caller or print for a visitor, shown this once and never stored.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from core.calendar import VN_TZ
from core.categories import Category, Channel
from core.errors import DomainError
from core.intake import MAX_TEXT, Receipt
from core.receipts import display
from core.registration import (
    MAX_ADDRESS,
    MAX_FORWARDED_BY,
    MAX_NAME,
    MAX_PHONE,
    MAX_PLACE,
    MAX_REASON,
    REGISTERED_CHANNELS,
    Informant,
    Registration,
    RegistrationRecord,
)
from core.staff import StaffContext
from handlers.i18n import language
from handlers.keys import SERVICES
from handlers.parsing import read_json
from handlers.schemas import KpiQuery
from handlers.staff_api import NO_STORE, require_staff, tip_id_of
from handlers.staff_charts import channel_json
from handlers.staff_openapi import StaffRoutes
from handlers.staff_pages import csrf_checked_form, page, staff_or_login

routes = web.RouteTableDef()
api_routes = StaffRoutes(routes)

RegisteredChannel = Literal["phone", "in_person", "letter", "tip_box", "forwarded"]
assert set(RegisteredChannel.__args__) == {c.value for c in REGISTERED_CHANNELS}  # type: ignore[attr-defined]


class InformantIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str | None = Field(default=None, max_length=MAX_NAME)
    phone: str | None = Field(default=None, max_length=MAX_PHONE)
    address: str | None = Field(default=None, max_length=MAX_ADDRESS)


class RegisterIn(BaseModel):
    """A tip taken down by an officer. `received_at`: when it really came in (it may lie
    in the past; more than 24 hours before now needs `late_reason`)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    channel: RegisteredChannel
    received_at: AwareDatetime
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    place: str | None = Field(default=None, max_length=MAX_PLACE)
    commune_code: str | None = Field(default=None, pattern=r"^\d{5}$")
    category: Category | None = None
    urgent: bool = False
    forwarded_by: str | None = Field(default=None, max_length=MAX_FORWARDED_BY)
    late_reason: str = Field(default="", max_length=MAX_REASON)
    informant: InformantIn | None = Field(default=None, description="Only if the person gives their name")

    def registration(self) -> Registration:
        informant = None if self.informant is None else Informant(**self.informant.model_dump())
        return Registration(
            channel=Channel(self.channel),
            received_at=self.received_at,
            text=self.text,
            place=self.place,
            commune_code=self.commune_code,
            category=self.category,
            urgent=self.urgent,
            forwarded_by=self.forwarded_by,
            late_reason=self.late_reason,
            informant=informant,
        )


class RegisteredOut(BaseModel):
    """Read the code and passphrase to the caller or print them: shown this once."""

    id: int
    receipt_code: str
    passphrase: str
    stage: str
    received_at: datetime
    urgent: bool
    status_url: str


class RegistrationOut(BaseModel):
    unit: str
    registered_by: str
    entered_at: datetime
    late_reason: str | None
    forwarded_by: str | None
    external_ref: str | None
    named_informant: bool


class InformantOut(BaseModel):
    name: str | None
    phone: str | None
    address: str | None


class ChannelStageOut(BaseModel):
    stage: str
    on_time: int
    late: int
    open_within_time: int
    overdue: int
    not_applicable: int
    on_time_share: float | None


class ChannelKpiOut(BaseModel):
    channel: str
    label: str
    received: int
    open: int
    overdue: int
    stages: list[ChannelStageOut]
    stage_labels: list[str]


class ChannelsOut(BaseModel):
    period: dict[str, str]
    channels: list[ChannelKpiOut]


def receipt_json(receipt: Receipt) -> dict[str, Any]:
    return {
        "id": receipt.tip_id,
        "receipt_code": display(receipt.receipt_code),
        "passphrase": receipt.passphrase,
        "stage": receipt.stage.value,
        "received_at": receipt.received_at.isoformat(),
        "urgent": receipt.urgent,
        "status_url": "/status",
    }


def record_json(record: RegistrationRecord) -> dict[str, Any]:
    return {
        "unit": record.unit,
        "registered_by": record.registered_by,
        "entered_at": record.entered_at.isoformat(),
        "late_reason": record.late_reason,
        "forwarded_by": record.forwarded_by,
        "external_ref": record.external_ref,
        "named_informant": record.named,
    }


@api_routes.post(
    "/api/v1/staff/tips",
    "Register a tip received by phone, in person, by letter, from a tip box or forwarded",
    ok=(201, "Registered: the receipt code and passphrase, shown this once", RegisteredOut),
    body=RegisterIn,
    errors=(401, 403, 404, 422),
)
async def register_tip(request: web.Request) -> web.Response:
    """Register a tip received by phone, in person, by letter, from a tip box or forwarded;
    201 with the receipt code and passphrase for the informant (shown this once)."""
    staff = await require_staff(request, write=True)
    body = await read_json(request, RegisterIn)
    receipt = await request.app[SERVICES].registrations.register(
        body.registration(), officer=staff.officer, actor=staff.actor
    )
    return web.json_response(receipt_json(receipt), status=201, headers=NO_STORE)


@api_routes.get(
    "/api/v1/staff/tips/{tip_id}/registration",
    "How a registered tip came in",
    ok=(200, "The registration", RegistrationOut),
)
async def get_registration(request: web.Request) -> web.Response:
    """How a registered tip came in (404 for a tip that came in by itself)."""
    staff = await require_staff(request)
    record = await request.app[SERVICES].registrations.record(tip_id_of(request), staff.jurisdiction)
    if record is None:
        raise web.HTTPNotFound(text="this tip was not registered by an officer")
    return web.json_response(record_json(record), headers=NO_STORE)


@api_routes.get(
    "/api/v1/staff/tips/{tip_id}/informant",
    "A named informant's identity, for the owning unit only (audited)",
    ok=(200, "The identity", InformantOut),
)
async def get_informant(request: web.Request) -> web.Response:
    """The named informant, for officers of the owning unit only; every read is audited."""
    staff = await require_staff(request)
    informant = await request.app[SERVICES].registrations.informant(
        tip_id_of(request), officer=staff.officer, actor=staff.actor, within=staff.jurisdiction
    )
    return web.json_response(
        {"name": informant.name, "phone": informant.phone, "address": informant.address}, headers=NO_STORE
    )


@api_routes.get(
    "/api/v1/staff/kpi/channels",
    "The KPI per channel within the jurisdiction",
    ok=(200, "Every channel", ChannelsOut),
    query=KpiQuery,
)
async def kpi_channels(request: web.Request) -> web.Response:
    """The KPI per channel for `from`..`to`, every channel listed (zeros included)."""
    staff = await require_staff(request)
    query = KpiQuery.model_validate(dict(request.query))
    services = request.app[SERVICES]
    rows = await services.channel_kpi(query.period(), services.tips.clock(), staff.jurisdiction)
    return web.json_response(
        {
            "period": {"from": query.period().start.isoformat(), "to": query.period().end.isoformat()},
            "channels": channel_json(rows, language(request)),
        },
        headers=NO_STORE,
    )


# ---- the form ------------------------------------------------------------------------------


def _blank(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class RegisterForm(BaseModel):
    """The form's fields as a browser sends them; `received_at` is Viet Nam's local time."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    channel: RegisteredChannel
    #: Typed as people write them (14/03/2026 and 08:30), whatever the browser's language.
    received_date: str = Field(pattern=r"^\d{1,2}/\d{1,2}/\d{4}$")
    received_time: str = Field(pattern=r"^\d{1,2}[:hg.]\d{2}$")
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    place: str | None = Field(default=None, max_length=MAX_PLACE)
    commune_code: str | None = Field(default=None, pattern=r"^\d{5}$")
    category: Category | None = None
    urgent: bool = False
    forwarded_by: str | None = Field(default=None, max_length=MAX_FORWARDED_BY)
    late_reason: str = Field(default="", max_length=MAX_REASON)
    informant_name: str | None = Field(default=None, max_length=MAX_NAME)
    informant_phone: str | None = Field(default=None, max_length=MAX_PHONE)
    informant_address: str | None = Field(default=None, max_length=MAX_ADDRESS)

    _blanks = field_validator(
        "place",
        "commune_code",
        "category",
        "forwarded_by",
        "informant_name",
        "informant_phone",
        "informant_address",
        mode="before",
    )(_blank)

    @field_validator("urgent", mode="before")
    @classmethod
    def _checkbox(cls, value: Any) -> Any:
        return value in ("1", "on", "true", True)

    @model_validator(mode="after")
    def _real_moment(self) -> RegisterForm:
        try:
            self.received_at()
        except ValueError:  # 31/02 or 25:00: named as the date field's problem
            raise PydanticCustomError("received_date", "not a real date and time") from None
        return self

    def received_at(self) -> datetime:
        """Viet Nam's local time of the two fields."""
        day, month, year = (int(part) for part in self.received_date.split("/"))
        hour, minute = (int(part) for part in re.split(r"[:hg.]", self.received_time))
        return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)

    def registration(self) -> Registration:
        received = self.received_at()
        informant = Informant(self.informant_name, self.informant_phone, self.informant_address)
        return Registration(
            channel=Channel(self.channel),
            received_at=received,
            text=self.text,
            place=self.place,
            commune_code=self.commune_code,
            category=self.category,
            urgent=self.urgent,
            forwarded_by=self.forwarded_by,
            late_reason=self.late_reason,
            informant=informant,
        )


#: The message shown for a refused field, in words (translated by the template).
FIELD_PROBLEMS = {
    "channel": "Choose how the tip came in.",
    "received_date": "Give the date and time the tip was received.",
    "received_time": "Give the date and time the tip was received.",
    "received_at": "Give the date and time the tip was received.",
    "text": "Write down what the person reported.",
    "commune_code": "Choose a commune or ward from the list.",
}


def _problem(exc: DomainError) -> str:
    """The service's refusal in words an officer can act on (the template translates)."""
    text = str(exc)
    if "late_reason" in text:
        return "The tip was received more than 24 hours ago: say why it is entered only now."
    if "forwarded_by" in text and "needs" in text:
        return "A forwarded tip needs the body that forwarded it."
    if "future" in text:
        return "The time received lies in the future."
    if "before 2000" in text:
        return "The time received is too far in the past."
    if "commune" in text:
        return "Choose a commune or ward from the list."
    return "The tip could not be registered. Check the fields and try again."


async def form_page(
    request: web.Request, staff: StaffContext, *, values: dict[str, str], problem: str = "", status: int = 200
) -> web.Response:
    services = request.app[SERVICES]
    now = services.tips.clock().astimezone(VN_TZ)
    communes = await services.registrations.communes()
    return page(
        request,
        "staff_register.html",
        staff,
        status=status,
        values=values,
        problem=problem,
        channels=[c for c in Channel if c in REGISTERED_CHANNELS],
        categories=list(Category),
        communes=communes,
        today=now.strftime("%d/%m/%Y"),
        time_now=now.strftime("%H:%M"),
    )


@routes.get("/staff/register")
async def register_form(request: web.Request) -> web.Response:
    """The registration form: how the tip came in, when, what was said, where."""
    staff = await staff_or_login(request)
    return await form_page(request, staff, values={})


@routes.post("/staff/register")
async def register_post(request: web.Request) -> web.Response:
    """Register the tip and show its receipt to read out or print (never cached)."""
    staff = await staff_or_login(request)
    fields = await csrf_checked_form(request, staff)
    try:
        form = RegisterForm.model_validate(fields)
        receipt = await request.app[SERVICES].registrations.register(
            form.registration(), officer=staff.officer, actor=staff.actor
        )
    except ValidationError as exc:
        names = sorted({str(e["loc"][0]) if e["loc"] else e["type"] for e in exc.errors()})
        problem = next((FIELD_PROBLEMS[n] for n in names if n in FIELD_PROBLEMS), "")
        problem = problem or "The tip could not be registered. Check the fields and try again."
        return await form_page(request, staff, values=fields, problem=problem, status=422)
    except DomainError as exc:
        if exc.code == "not_found":
            raise
        return await form_page(request, staff, values=fields, problem=_problem(exc), status=422)
    return page(
        request,
        "staff_registered.html",
        staff,
        status=201,
        receipt=receipt,
        code=display(receipt.receipt_code),
        channel=form.channel,
        status_url=f"{request.scheme}://{request.host}/status",
    )


@routes.get("/staff/tips/{tip_id}/informant")
async def informant_page(request: web.Request) -> web.Response:
    """The named informant of a tip, for officers of the owning unit; the read is audited."""
    staff = await staff_or_login(request)
    tip_id = tip_id_of(request)
    informant = await request.app[SERVICES].registrations.informant(
        tip_id, officer=staff.officer, actor=staff.actor, within=staff.jurisdiction
    )
    return page(request, "staff_informant.html", staff, tip_id=tip_id, informant=informant)
