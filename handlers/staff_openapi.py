"""The staff API in the OpenAPI document: every `/api/v1/staff/` route with its
query, body and answers, and two security schemes — the session cookie `hotline_staff`
(every route but sign-in) and the `X-CSRF-Token` header (every write).

Each staff route is declared once, with its description, through `StaffRoutes` (the
decorator that also adds it to the module's RouteTableDef); tests/test_staff_openapi.py
checks that every staff route is described, and tests/test_staff_api_fuzz.py fuzzes the
described operations signed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from core.categories import Category
from handlers.openapi import ERRORS, REF, ApiRoutes
from handlers.schemas import ErrorOut

H = TypeVar("H", bound=Callable[..., Any])
SESSION_COOKIE = "hotline_staff"
CSRF_HEADER = "X-CSRF-Token"

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


#: Every staff operation, in the order its route was declared (`StaffRoutes` adds them).
OPERATIONS: list[StaffOp] = []


class StaffRoutes:
    """A staff module's RouteTableDef whose `/api/v1/staff/` routes carry their OpenAPI
    description: declaring a route documents it, and nothing describes it a second time."""

    def __init__(self, table: web.RouteTableDef) -> None:
        self.table = table

    def route(
        self,
        method: str,
        path: str,
        summary: str,
        *,
        ok: tuple[int, str, type[BaseModel] | str | None],
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        signed_in: bool = True,
        errors: tuple[int, ...] = (401, 404, 422),
        also_ok: tuple[tuple[int, str], ...] = (),
    ) -> Callable[[H], H]:
        OPERATIONS.append(StaffOp(method, path, summary, ok, query, body, signed_in, errors, also_ok))
        route = self.table.route(method.upper(), path)

        def register(handler: H) -> H:
            route(handler)
            return handler

        return register

    def get(self, path: str, summary: str, **describe: Any) -> Callable[[H], H]:
        return self.route("get", path, summary, **describe)

    def post(self, path: str, summary: str, **describe: Any) -> Callable[[H], H]:
        return self.route("post", path, summary, **describe)

    def put(self, path: str, summary: str, **describe: Any) -> Callable[[H], H]:
        return self.route("put", path, summary, **describe)

    def delete(self, path: str, summary: str, **describe: Any) -> Callable[[H], H]:
        return self.route("delete", path, summary, **describe)


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
