"""Request and response shapes of the JSON API: pydantic validates them, and the OpenAPI
document at /api/v1/openapi.json is generated from the very same models."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from core.categories import Category
from core.kpi import Period
from core.queue import Badge, Cursor, QueueFilter, QueueItem
from core.stages import Stage
from core.tips import Tip, TransitionRecord

#: Web intake limit; the domain's own limit is looser, for other channels.
MAX_TEXT = 10_000


#: Dates a staff report may name: earlier or later ones are typos or probes (year 1 lies
#: before any database's date range in some zones and answered 500).
EARLIEST_REPORT_YEAR, LATEST_REPORT_YEAR = 2000, 2100


def report_date(value: Any) -> Any:
    """A query string's date: `YYYY-MM-DD` only (lax parsing reads `0` as 1970-01-01),
    between EARLIEST_REPORT_YEAR and LATEST_REPORT_YEAR."""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if isinstance(value, date) and not EARLIEST_REPORT_YEAR <= value.year <= LATEST_REPORT_YEAR:
        raise ValueError(f"a date between {EARLIEST_REPORT_YEAR} and {LATEST_REPORT_YEAR}")
    return value


#: Text without NUL characters: PostgreSQL cannot store one, nor compare with one.
NO_NUL = r"^[^\x00]*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TipIn(Strict):
    """A new tip. As multipart/form-data the same fields come as parts, plus `files`."""

    text: str = Field(
        min_length=1, max_length=MAX_TEXT, pattern=NO_NUL, description="What happened, in your own words"
    )
    category: Category | None = None
    urgent: bool = Field(default=False, description="Someone is in danger now")
    commune_code: str | None = Field(default=None, pattern=r"^\d{5}$", description="Commune or ward code")
    place: str | None = Field(
        default=None, max_length=500, pattern=NO_NUL, description="Where, in your own words"
    )
    occurred_at: AwareDatetime | None = None

    @field_validator("category")
    @classmethod
    def _reporters_choose(cls, value: Category | None) -> Category | None:
        """`spam` is an officer's verdict and `info_request` is what a question is filed as."""
        if value in (Category.SPAM, Category.INFO_REQUEST):
            raise ValueError("a reporter cannot choose this category")
        return value


class QuestionIn(Strict):
    text: str = Field(min_length=1, max_length=MAX_TEXT, pattern=NO_NUL)


class AnswersIn(Strict):
    """A question to answer from the knowledge base; nothing is stored."""

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    language: Literal["vi", "en"] | None = Field(
        default=None, description="The asker's language, used when the question's own is unclear"
    )
    limit: int = Field(default=3, ge=1, le=5)


class AnswerOut(BaseModel):
    entry_id: str
    language: Literal["vi", "en"]
    question: str = Field(description="The knowledge-base question this answer is for")
    answer: str
    coverage: float = Field(description="Share of the question's weight found in the entry, 0-1")


class AnswersOut(BaseModel):
    """Best first; empty when nothing fits well: then ask a counsellor (POST /api/v1/questions)."""

    answers: list[AnswerOut]


class ReceiptIn(Strict):
    receipt_code: str = Field(min_length=1, max_length=32, description="As shown, e.g. ABCDE-FGHJK")
    passphrase: str = Field(min_length=1, max_length=200)


class MessageIn(ReceiptIn):
    """Details the reporter adds; as multipart/form-data, with optional `files`."""

    text: str = Field(min_length=1, max_length=MAX_TEXT, pattern=NO_NUL)


class EmergencyNumbers(BaseModel):
    police: str
    child_protection_and_trafficking: str


class ReceiptOut(BaseModel):
    """Shown once: keep the code and passphrase to check the status and read replies."""

    receipt_code: str
    passphrase: str
    stage: str
    received_at: datetime
    urgent: bool
    emergency_numbers: EmergencyNumbers | None
    accepted_over_limit: bool = Field(
        default=False,
        description="An urgent tip stored although its sender was over the rate limit",
    )


class MessageOut(BaseModel):
    author: Literal["reporter", "officer"]
    text: str
    at: datetime


class StatusOut(BaseModel):
    stage: Literal["received", "verified", "classified", "processed", "referred", "closed"]
    received_at: datetime
    messages: list[MessageOut]
    attachments: int


class ErrorField(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: list[ErrorField] | None = None
    retry_after: int | None = None
    reason: str | None = None


class ErrorOut(BaseModel):
    error: ErrorBody


class TransitionIn(Strict):
    to: Stage
    reason: str = Field(default="", max_length=4000, pattern=NO_NUL)
    expected_stage: Stage | None = None
    category: Category | None = None
    urgent: bool | None = None
    to_agency: str | None = Field(default=None, max_length=40)
    duplicate_of: int | None = Field(default=None, ge=1)


class ReplyIn(Strict):
    text: str = Field(min_length=1, max_length=10_000, pattern=NO_NUL)


class ExtensionIn(Strict):
    reason: str = Field(min_length=1, max_length=4000, pattern=NO_NUL)
    days: int | None = Field(default=None, ge=1, le=62)


class KpiQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start: date = Field(alias="from")
    end: date = Field(alias="to")
    agency: str | None = Field(default=None, max_length=40, pattern=r"^[a-z_]+:\d{2,5}$")
    commune: str | None = Field(default=None, pattern=r"^\d{5}$")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        return report_date(value)

    @model_validator(mode="after")
    def _ordered(self) -> KpiQuery:
        if self.end < self.start:
            raise ValueError("'to' is before 'from'")
        return self

    def period(self) -> Period:
        return Period(self.start, self.end)


class SessionIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)
    otp: str = Field(
        default="",
        max_length=10,
        description="The authenticator app's 6-digit code (left out at the first sign-in, which enrols)",
    )


class QueueQuery(BaseModel):
    """Query string of GET /api/v1/staff/tips (strings, as a query string has them)."""

    model_config = ConfigDict(extra="forbid")
    stage: Stage | None = None
    category: Category | None = None
    urgent: bool | None = None
    commune: str | None = Field(default=None, pattern=r"^\d{5}$")
    overdue: bool = False
    closed: bool = False
    q: str | None = Field(
        default=None, max_length=200, pattern=NO_NUL, description="text search; diacritics optional"
    )
    limit: int = Field(default=50, ge=1, le=200)
    next: str | None = Field(default=None, max_length=200)

    def to_filter(self) -> QueueFilter:
        return QueueFilter(
            stage=self.stage,
            category=self.category,
            urgent=self.urgent,
            commune_code=self.commune,
            overdue=self.overdue,
            include_closed=self.closed,
            text=self.q.strip() or None if self.q else None,
            after=Cursor.decode(self.next) if self.next else None,
            limit=self.limit,
        )


def queue_item_json(item: QueueItem, badge: Badge) -> dict[str, Any]:
    return {
        "id": item.id,
        "stage": item.stage.value,
        "category": item.category.value if item.category else None,
        "urgent": item.urgent,
        "commune_code": item.commune_code,
        "agency_code": item.agency_code,
        "received_at": item.received_at.isoformat(),
        "deadline": item.next_due_at.isoformat() if item.next_due_at else None,
        "at_risk_at": item.at_risk_at.isoformat() if item.at_risk_at else None,
        "badge": badge.value,
    }


def tip_json(tip: Tip, history: list[TransitionRecord] | None = None) -> dict[str, Any]:
    """Staff view of a tip. The receipt code is left out: staff never need it."""

    def iso(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    body: dict[str, Any] = {
        "id": tip.id,
        "text": tip.text,
        "channel": tip.channel.value,
        "category": tip.category.value if tip.category else None,
        "urgent": tip.urgent,
        "language": tip.language,
        "province_code": tip.province_code,
        "commune_code": tip.commune_code,
        "remote": tip.remote,
        "place": tip.place,
        "agency_code": tip.agency_code,
        "stage": tip.stage.value,
        "received_at": iso(tip.received_at),
        "reached": {s.value: iso(t) for s, t in tip.reached.items()},
        "due": {s.value: iso(t) for s, t in tip.due.items()},
        "next_due_at": iso(tip.next_due()),
        "extensions": tip.extensions,
        "duplicate_of": tip.duplicate_of,
        "policy_version": tip.policy_version,
        "triage": tip.triage,
        "forgotten_at": iso(tip.forgotten_at),
    }
    if history is not None:
        body["history"] = [
            {
                "action": r.action,
                "from": r.from_stage.value if r.from_stage else None,
                "to": r.to_stage.value,
                "actor": r.actor,
                "at": iso(r.at),
                "reason": r.reason,
                "to_agency": r.to_agency,
            }
            for r in history
        ]
    return body
