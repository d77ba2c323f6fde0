"""The staff API in the OpenAPI document: every `/api/v1/staff/` route with its
query, body and answers, and two security schemes — the session cookie `hotline_staff`
(every route but sign-in) and the `X-CSRF-Token` header (every write).

The staff handlers keep their own RouteTableDef; this table describes them, and
tests/test_staff_openapi.py checks both ways that every staff route of ours is described
here and every description is served, then fuzzes the described operations signed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from core.categories import Category
from handlers.openapi import ERRORS, REF, ApiRoutes
from handlers.schemas import (
    ErrorOut,
    ExtensionIn,
    KpiQuery,
    QueueQuery,
    ReplyIn,
    SessionIn,
    TransitionIn,
)
from handlers.staff_api import CSRF_HEADER, SESSION_COOKIE, AuditFilterQuery, AuditQuery, RouteIn
from handlers.staff_charts import DashboardQuery
from handlers.staff_establishments import (
    EstablishmentIn,
    HotspotIn,
    InspectionIn,
    LinkIn,
    ListIn,
    MoveIn,
)
from handlers.staff_register import (
    ChannelsOut,
    InformantOut,
    RegisteredOut,
    RegisterIn,
    RegistrationOut,
)

SESSION = "staffSession"
CSRF = "csrfToken"
SECURITY_SCHEMES = {
    SESSION: {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "Set by POST /api/v1/staff/session (HttpOnly, Secure, SameSite=Strict)",
    },
    CSRF: {
        "type": "apiKey",
        "in": "header",
        "name": CSRF_HEADER,
        "description": "The session's CSRF token (from POST or GET /api/v1/staff/session); every write",
    },
}


class Loose(BaseModel):
    """Answers with more fields than listed here (documented in docs/staff.md)."""

    model_config = ConfigDict(extra="allow")


class OfficerOut(BaseModel):
    username: str
    role: str
    agency_code: str
    area_code: str
    csrf_token: str


class QueueItemOut(BaseModel):
    id: int
    stage: str
    category: str | None
    urgent: bool
    commune_code: str | None
    agency_code: str
    received_at: str
    deadline: str | None
    at_risk_at: str | None
    badge: str


class QueueOut(BaseModel):
    items: list[QueueItemOut]
    next: str | None


class TipOut(Loose):
    id: int
    text: str
    stage: str
    category: str | None
    urgent: bool
    agency_code: str
    read_only: bool = Field(
        default=False, description="true when the tip was only notified to the officer's unit"
    )
    forgotten_at: str | None = Field(
        default=None,
        description="when the retention rules deleted the text, place, files and conversation"
        " (text is then empty); null while kept",
    )


class NoteOut(BaseModel):
    actor: str
    text: str
    at: str


class ReplyOut(BaseModel):
    author: str
    text: str
    at: str


class NotificationOut(BaseModel):
    id: int
    agency_code: str
    reason: str
    notified_at: str
    category: str | None
    urgent: bool
    stage: str
    received_at: str


class NotificationsOut(BaseModel):
    items: list[NotificationOut]


class KpiOut(Loose):
    stages: list[dict[str, Any]]
    totals: dict[str, Any]
    #: Per proposed category: decisions, how many changed triage's proposal, and the share.
    triage_corrections: list[dict[str, Any]]


class DashboardOut(Loose):
    period: dict[str, str]
    kpi: dict[str, Any]
    weeks: dict[str, Any]
    on_time: dict[str, Any]
    open_by_age: dict[str, Any]
    workload: dict[str, Any]


class RuleOut(BaseModel):
    category: str
    agency_kind: str


class RoutingOut(BaseModel):
    rules: list[RuleOut]


class AuditEntryOut(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    tip_id: int | None
    detail: str


class AuditOut(BaseModel):
    items: list[AuditEntryOut]
    next: int | None


class SignOutQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    everywhere: bool = Field(default=False, description="end every session of the officer")


class EventsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after: int | None = Field(
        default=None, ge=0, description="send tips after this id (or send Last-Event-ID)"
    )


@dataclass(frozen=True)
class StaffOp:
    method: str
    path: str
    summary: str
    ok: tuple[int, str, type[BaseModel] | str | None]
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    signed_in: bool = True
    errors: tuple[int, ...] = field(default=(401, 404, 422))
    #: Other success answers, with the same body as `ok` (e.g. 200 for "already done").
    also_ok: tuple[tuple[int, str], ...] = ()

    @property
    def write(self) -> bool:
        return self.signed_in and self.method in ("post", "put", "delete", "patch")


TIP = "/api/v1/staff/tips/{tip_id}"
ESTABLISHMENT = "/api/v1/staff/establishments/{establishment_id}"
HOTSPOT = "/api/v1/staff/hotspots/{hotspot_id}"
CSV = "text/csv"
OPERATIONS: tuple[StaffOp, ...] = (
    StaffOp(
        "post",
        "/api/v1/staff/session",
        "Sign in: password and TOTP code; sets the session cookie",
        (201, "Signed in", OfficerOut),
        body=SessionIn,
        signed_in=False,
        errors=(401, 403, 422, 429),
    ),
    StaffOp(
        "get",
        "/api/v1/staff/session",
        "The signed-in officer and the CSRF token",
        (200, "Signed in", OfficerOut),
        errors=(401,),
    ),
    StaffOp(
        "delete",
        "/api/v1/staff/session",
        "Sign out (here, or everywhere)",
        (204, "Signed out", None),
        query=SignOutQuery,
        errors=(401, 403, 422),
    ),
    StaffOp(
        "get",
        "/api/v1/staff/tips",
        "The queue: urgent first, then nearest deadline; keyset pages",
        (200, "A page of the queue", QueueOut),
        query=QueueQuery,
    ),
    StaffOp(
        "get", TIP, "A tip with its history (audited); read-only if only notified", (200, "The tip", TipOut)
    ),
    StaffOp(
        "post",
        f"{TIP}/transitions",
        "Move a tip (verify, classify, process, refer, close)",
        (200, "The tip after the move", TipOut),
        body=TransitionIn,
        errors=(401, 403, 404, 409, 422),
    ),
    StaffOp(
        "post",
        f"{TIP}/extensions",
        "Extend the decision deadline, with a reason",
        (200, "The tip", TipOut),
        body=ExtensionIn,
        errors=(401, 403, 404, 409, 422),
    ),
    StaffOp(
        "post",
        f"{TIP}/replies",
        "An anonymous reply to the reporter",
        (201, "Sent", ReplyOut),
        body=ReplyIn,
        errors=(401, 403, 404, 422),
    ),
    StaffOp(
        "post",
        f"{TIP}/notes",
        "A note for colleagues",
        (201, "Added", NoteOut),
        body=ReplyIn,
        errors=(401, 403, 404, 422),
    ),
    StaffOp(
        "get",
        f"{TIP}/attachments/{{number}}",
        "A file of the tip, as a download (audited)",
        (200, "The file", "binary"),
    ),
    StaffOp(
        "get",
        "/api/v1/staff/notifications",
        "Tips notified to the officer's unit (read-only)",
        (200, "Newest first", NotificationsOut),
        errors=(401,),
    ),
    StaffOp(
        "get",
        "/api/v1/staff/kpi",
        "The KPI of a period within the jurisdiction",
        (200, "The KPI", KpiOut),
        query=KpiQuery,
    ),
    StaffOp("get", "/api/v1/staff/kpi.csv", "The KPI as CSV (audited)", (200, "CSV", CSV), query=KpiQuery),
    StaffOp(
        "get",
        "/api/v1/staff/dashboard",
        "The KPI with the charts' data",
        (200, "The dashboard", DashboardOut),
        query=DashboardQuery,
    ),
    StaffOp(
        "get",
        "/api/v1/staff/dashboard.csv",
        "The charts' numbers as CSV (audited)",
        (200, "CSV", CSV),
        query=DashboardQuery,
    ),
    StaffOp(
        "get",
        "/api/v1/staff/events",
        "Urgent tips as they arrive (Server-Sent Events)",
        (200, "An event stream", "text/event-stream"),
        query=EventsQuery,
        errors=(401, 429),
    ),
    StaffOp(
        "get",
        "/api/v1/staff/routing",
        "The routing policy table",
        (200, "The table", RoutingOut),
        errors=(401,),
    ),
    StaffOp(
        "put",
        "/api/v1/staff/routing/{category}",
        "Change one category's owner (admins)",
        (200, "The table", RoutingOut),
        body=RouteIn,
        errors=(401, 403, 404, 422),
    ),
    StaffOp(
        "get",
        "/api/v1/staff/audit",
        "The audit log, newest first (admins)",
        (200, "A page", AuditOut),
        query=AuditQuery,
        errors=(401, 403, 422),
    ),
    StaffOp(
        "get",
        "/api/v1/staff/audit.csv",
        "The audit log as CSV, same filters, newest first (admins; audited as an export)",
        (200, "CSV", CSV),
        query=AuditFilterQuery,
        errors=(401, 403, 422),
    ),
    StaffOp(
        "post",
        "/api/v1/staff/tips",
        "Register a tip received by phone, in person, by letter, from a tip box or forwarded",
        (201, "Registered: the receipt code and passphrase, shown this once", RegisteredOut),
        body=RegisterIn,
        errors=(401, 403, 404, 422),
    ),
    StaffOp(
        "get",
        f"{TIP}/registration",
        "How a registered tip came in",
        (200, "The registration", RegistrationOut),
    ),
    StaffOp(
        "get",
        f"{TIP}/informant",
        "A named informant's identity, for the owning unit only (audited)",
        (200, "The identity", InformantOut),
    ),
    StaffOp(
        "get",
        "/api/v1/staff/kpi/channels",
        "The KPI per channel within the jurisdiction",
        (200, "Every channel", ChannelsOut),
        query=KpiQuery,
    ),
    StaffOp(
        "get",
        "/api/v1/staff/establishments",
        "The establishments register within the jurisdiction (due: not inspected in 12 months)",
        (200, "A page of establishments and the next cursor", None),
        query=ListIn,
        errors=(401, 422),
    ),
    StaffOp(
        "post",
        "/api/v1/staff/establishments",
        "Add an establishment to the register",
        (201, "The establishment as stored", None),
        body=EstablishmentIn,
        errors=(401, 403, 404, 409, 422),
    ),
    StaffOp(
        "get",
        "/api/v1/staff/establishments/needs-inspection",
        "Establishments with two or more tips in 90 days (supervisors and administrators)",
        (200, "The establishments and their recent tips", None),
        errors=(401, 403),
    ),
    StaffOp(
        "get",
        f"{ESTABLISHMENT}",
        "One establishment with its inspections, tips, hotspots and history",
        (200, "The establishment", None),
    ),
    StaffOp(
        "post",
        f"{ESTABLISHMENT}/inspections",
        "Record an inspection",
        (201, "The inspection as stored", None),
        body=InspectionIn,
        errors=(401, 403, 404, 422),
    ),
    StaffOp(
        "post",
        f"{TIP}/establishments",
        "Confirm that a tip is about an establishment (201 linked, 200 already linked)",
        (201, "Linked", None),
        body=LinkIn,
        also_ok=((200, "It was already linked"),),
        errors=(401, 403, 404, 422),
    ),
    StaffOp(
        "get",
        "/api/v1/staff/hotspots",
        "Hotspots within the jurisdiction, with counts per commune",
        (200, "The hotspots", None),
        errors=(401,),
    ),
    StaffOp(
        "post",
        "/api/v1/staff/hotspots",
        "Record a hotspot",
        (201, "The hotspot as stored", None),
        body=HotspotIn,
        errors=(401, 403, 404, 422),
    ),
    *(
        StaffOp(
            "post",
            f"{HOTSPOT}/{move}",
            summary,
            (200, "The hotspot after the move", None),
            body=MoveIn,
            errors=(401, 403, 404, 409, 422),
        )
        for move, summary in (
            ("deal", "Mark a hotspot as being dealt with"),
            ("eliminate", "Mark a hotspot eliminated (then watched for 12 months)"),
            ("return", "Mark an eliminated hotspot as returned"),
        )
    ),
)

FILE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif", "application/pdf")
PATH_PARAMS: dict[str, dict[str, Any]] = {
    "tip_id": {"type": "integer", "minimum": 1},
    "establishment_id": {"type": "integer", "minimum": 1},
    "hotspot_id": {"type": "integer", "minimum": 1},
    "number": {"type": "integer", "minimum": 1, "maximum": 999},
    "category": {"type": "string", "enum": [c.value for c in Category]},
}


def _parameters(op: StaffOp) -> list[dict[str, Any]]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": schema}
        for name, schema in PATH_PARAMS.items()
        if f"{{{name}}}" in op.path
    ]
    if op.query is not None:
        schema = op.query.model_json_schema(by_alias=True, ref_template=REF)
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    return params


def add_staff_paths(doc: dict[str, Any]) -> None:
    """Add the staff operations, their schemas and the security schemes to `doc`."""
    models: list[type[BaseModel]] = [ErrorOut]
    for op in OPERATIONS:
        if op.body is not None:
            models.append(op.body)
        if isinstance(op.ok[2], type):
            models.append(op.ok[2])
    unique = list(dict.fromkeys(models))
    keys, defs = models_json_schema([(m, "validation") for m in unique], ref_template=REF)
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {}).update(defs.get("$defs", {}))
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    refs = {m: keys[(m, "validation")] for m in unique}
    error = {"application/json": {"schema": refs[ErrorOut]}}
    for op in OPERATIONS:
        status, description, answer = op.ok
        ok: dict[str, Any] = {"description": description}
        if isinstance(answer, type):
            ok["content"] = {"application/json": {"schema": refs[answer]}}
        elif answer == "binary":
            ok["content"] = {t: {"schema": {"type": "string", "format": "binary"}} for t in FILE_TYPES}
        elif isinstance(answer, str):
            ok["content"] = {answer: {"schema": {"type": "string"}}}
        responses: dict[str, Any] = {str(status): ok}
        for other, words in op.also_ok:
            responses[str(other)] = {**ok, "description": words}
        for code in sorted({*op.errors, 400, 413, 415, 503}):
            responses[str(code)] = {
                "description": ERRORS.get(code, STAFF_ERRORS.get(code, "")),
                "content": error,
            }
        entry: dict[str, Any] = {
            "summary": op.summary,
            "operationId": f"{op.method}_{op.path.removeprefix('/api/v1/')}".replace("/", "_").replace(
                ".", "_"
            ),
            "tags": ["staff"],
            "parameters": _parameters(op),
            "responses": responses,
            "security": []
            if not op.signed_in
            else [{SESSION: [], CSRF: []}]
            if op.write
            else [{SESSION: []}],
        }
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[op.body]}},
            }
        doc.setdefault("paths", {}).setdefault(op.path, {})[op.method] = entry


STAFF_ERRORS = {
    401: "Not signed in, or the session ended (idle or absolute timeout, signed out)",
    403: "The CSRF token is missing or wrong, or the role may not do this",
    404: "No such tip within the officer's jurisdiction",
    409: "The move is illegal from the tip's stage, or someone else moved it first",
}


def register(api: ApiRoutes) -> None:
    """Have the public document (`/api/v1/openapi.json`) carry the staff operations too."""
    if add_staff_paths not in api.extensions:
        api.extensions.append(add_staff_paths)
