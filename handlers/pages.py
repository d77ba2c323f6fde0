"""Public pages: server-rendered, no JavaScript, Vietnamese by default.

Each POST handler parses the form, calls one reporter use case and renders the answer; a
refused input re-renders the form with a translated explanation and the reporter's text, so
nothing typed on a cheap phone is lost.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.exc import DBAPIError

from core.areas import Area
from core.attachments import AttachmentRefused
from core.categories import Category, Channel
from core.collation import clean_name, vietnamese_key
from core.errors import DomainError, InvalidInput, NotFound
from core.intake import Receipt
from core.ratelimits import RateLimited
from core.receipts import display
from core.tips import TipDraft
from handlers import receipt_once
from handlers.clients import is_https, source_of
from handlers.forms import Submitted, is_multipart, read_multipart
from handlers.i18n import LANG_COOKIE, LANGUAGES, language, renderer
from handlers.keys import METRICS, SERVICES, SETTINGS
from handlers.schemas import MAX_TEXT
from storage.db import describe_error

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

CSRF_COOKIE = "csrf"
CSRF_FIELD = "csrf_token"
HONEYPOT = "website"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
_LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
PAGES = ("/", "/report", "/status", "/ask")
REPORT_RECEIVED = "/report/received"
ASK_RECEIVED = "/ask/received"
STATIC = Path(__file__).parent / "static"
#: The public pages' policy: our own stylesheet and our own small script files (the
#: commune search and the quick exit); no inline script, nothing from elsewhere.
PUBLIC_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
#: Set on a request once its report or question is stored, so that an error page shown
#: after that point says the report was received rather than asking to send it again.
SAVED: web.RequestKey[bool] = web.RequestKey("report_saved", bool)
#: Categories a reporter may pick; `info_request` and `spam` are not theirs to choose.
REPORTER_CATEGORIES = tuple(c for c in Category if c not in (Category.INFO_REQUEST, Category.SPAM))
CSRF_TOKEN: web.RequestKey[str] = web.RequestKey("csrf_token", str)


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class ReportForm(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    commune_code: str | None = Field(default=None, pattern=r"^\d{5}$")
    place: str | None = Field(default=None, max_length=500)
    occurred_on: date | None = None
    urgent: bool = False
    category: Category | None = None

    _blank = field_validator("commune_code", "place", "occurred_on", "category", mode="before")(
        _blank_to_none
    )

    @field_validator("urgent", mode="before")
    @classmethod
    def _checkbox(cls, value: Any) -> bool:
        return value in ("on", "yes", "true", "1", True)

    def draft(self) -> TipDraft:
        occurred = None
        if self.occurred_on is not None:
            occurred = datetime.combine(self.occurred_on, time(12, 0), _LOCAL)
        return TipDraft(
            text=self.text,
            channel=Channel.WEB,
            category=self.category,
            urgent=self.urgent,
            commune_code=self.commune_code,
            place=self.place,
            occurred_at=occurred,
        )


class ReceiptForm(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    receipt_code: str = Field(min_length=1, max_length=32)
    passphrase: str = Field(min_length=1, max_length=200)


class MessageForm(ReceiptForm):
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class QuestionForm(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    #: `ask`: answer from the knowledge base if it can; `helped` / `counsellor`: the
    #: reader's verdict on the answer shown (`entry`, `answer_lang`).
    action: Literal["ask", "helped", "counsellor"] = "ask"
    entry: str | None = Field(default=None, max_length=64)
    answer_lang: Literal["vi", "en"] | None = None

    _blank = field_validator("entry", "answer_lang", mode="before")(_blank_to_none)


def csrf_token(request: web.Request) -> str:
    """The browser's double-submit token: its cookie if it has one, else a fresh one."""
    if CSRF_TOKEN not in request:
        current = request.cookies.get(CSRF_COOKIE, "")
        request[CSRF_TOKEN] = current if _TOKEN.match(current) else secrets.token_urlsafe(32)
    return request[CSRF_TOKEN]


def render(
    request: web.Request, template: str, *, status: int = 200, no_store: bool = False, **context: Any
) -> web.Response:
    lang = language(request)
    token = csrf_token(request)
    html = renderer().render(
        lang, template, {"csrf_token": token, "path": request.path, "languages": LANGUAGES, **context}
    )
    response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    response.set_cookie(
        CSRF_COOKIE, token, httponly=True, samesite="Strict", secure=is_https(request), path="/"
    )
    if not template.startswith("staff_"):
        response.headers["Content-Security-Policy"] = PUBLIC_CSP
    if no_store:
        response.headers["Cache-Control"] = "no-store"
    return response


async def read_form(request: web.Request) -> Submitted:
    """Multipart (with files) or urlencoded; then the CSRF and honeypot checks."""
    if is_multipart(request):
        services = request.app[SERVICES]
        form = await read_multipart(
            request, services.intake.attachment_policy, request.app[SETTINGS].max_body_bytes
        )
    elif request.content_type == "application/x-www-form-urlencoded":
        posted = await request.post()
        form = Submitted(fields={k: v for k, v in posted.items() if isinstance(v, str)})
    else:
        raise web.HTTPUnsupportedMediaType(text="send the form as a browser does")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = form.fields.pop(CSRF_FIELD, "")
    if not (_TOKEN.match(cookie) and hmac.compare_digest(cookie, sent)):
        raise FormRefused("csrf", 403)
    if form.fields.pop(HONEYPOT, ""):
        raise FormRefused("honeypot", 400)
    return form


class FormRefused(Exception):
    """A form we will not process; `problem` names the explanation the page shows."""

    def __init__(self, problem: str, status: int, reason: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.status = status
        self.reason = reason


def refusal(exc: BaseException) -> FormRefused:
    """Map what went wrong to the explanation the reporter sees (never a raw message)."""
    if isinstance(exc, FormRefused):
        return exc
    if isinstance(exc, RateLimited):
        return FormRefused("rate_limited", 429)
    if isinstance(exc, AttachmentRefused):
        return FormRefused("attachment", 422, exc.reason)
    if isinstance(exc, NotFound):
        return FormRefused("not_found", 404)
    if isinstance(exc, ValidationError):
        fields = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        if "text" in fields:
            return FormRefused("text", 422)
        return FormRefused("fields", 422, ",".join(sorted(fields)))
    if isinstance(exc, InvalidInput):
        if "occurred_at" in str(exc):
            return FormRefused("fields", 422, "occurred_on")
        return FormRefused("text" if "text" in str(exc) else "fields", 422)
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return FormRefused("attachment", 413, "total_too_big")
    if isinstance(exc, web.HTTPUnsupportedMediaType):
        return FormRefused("fields", 415)
    if isinstance(exc, web.HTTPBadRequest):
        return FormRefused("fields", 400)
    if isinstance(exc, DBAPIError):
        log.error("database error on a public form; nothing was saved (%s)", describe_error(exc))
        return FormRefused("not_saved", 503)
    raise exc


async def communes(request: web.Request) -> list[Area]:
    """The province's communes and wards by name in Vietnamese alphabetical order."""
    areas = await request.app[SERVICES].reporters.communes()
    cleaned = [
        Area(a.code, clean_name(a.name), a.level, a.division_type, a.province_code, a.remote) for a in areas
    ]
    return sorted(cleaned, key=lambda a: vietnamese_key(a.name))


def local_today(request: web.Request) -> str:
    """Today on Viet Nam's calendar, the latest day a reporter may give."""
    return request.app[SERVICES].tips.clock().astimezone(_LOCAL).date().isoformat()


def received(request: web.Request, receipt: Receipt, path: str, *, question: bool) -> web.Response:
    """After the commit: redirect to the page that shows the receipt once (POST/redirect/GET)."""
    request[SAVED] = True
    once = receipt_once.OnceReceipt(
        display(receipt.receipt_code), receipt.passphrase, receipt.urgent, question, receipt.over_limit
    )
    return receipt_once.redirect_with(request, once, path, request.app[SERVICES].tips.clock())


async def show_receipt(request: web.Request, path: str) -> web.Response:
    """The receipt the redirect carried, once; a refresh or a later visit explains instead."""
    once = receipt_once.opened(request, path, request.app[SERVICES].tips.clock())
    if once is None:
        response = render(request, "receipt_gone.html", no_store=True, question=path == ASK_RECEIVED)
    else:
        context: dict[str, Any] = {
            "code": once.code,
            "passphrase": once.passphrase,
            "urgent": once.urgent,
            "over_limit": once.over_limit,
        }
        if once.question:
            context["question"] = True
        response = render(request, "receipt.html", no_store=True, **context)
    receipt_once.forget(request, response, path)
    return response


@routes.get("/report/received")
async def report_received(request: web.Request) -> web.Response:
    return await show_receipt(request, REPORT_RECEIVED)


@routes.get("/ask/received")
async def ask_received(request: web.Request) -> web.Response:
    return await show_receipt(request, ASK_RECEIVED)


FAVICON = (STATIC / "favicon.ico").read_bytes()


@routes.get("/favicon.ico")
async def favicon(request: web.Request) -> web.Response:
    """The tab's icon, from memory (under a kilobyte): browsers ask for it on every site."""
    return web.Response(
        body=FAVICON, content_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"}
    )


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    """The hotlines, what happens to a report, and the ways in."""
    return render(request, "home.html")


@routes.get("/report")
async def report_form(request: web.Request) -> web.Response:
    return render(
        request,
        "report.html",
        form={},
        communes=await communes(request),
        categories=REPORTER_CATEGORIES,
        today=local_today(request),
    )


@routes.post("/report")
async def report_submit(request: web.Request) -> web.Response:
    """Store the report, then show the receipt: the commit comes before the page."""
    fields: dict[str, str] = {}
    try:
        submitted = await read_form(request)
        fields = submitted.fields
        form = ReportForm.model_validate(fields)
        receipt = await request.app[SERVICES].reporters.report(
            form.draft(), submitted.files, source=await source_of(request)
        )
    except (FormRefused, DomainError, ValidationError, web.HTTPClientError, DBAPIError) as exc:
        refused = refusal(exc)
        return render(
            request,
            "report.html",
            status=refused.status,
            no_store=True,
            form=fields,
            problem=refused.problem,
            reason=refused.reason,
            communes=await communes(request),
            categories=REPORTER_CATEGORIES,
            today=local_today(request),
        )
    request.app[METRICS].tips_received.labels(Channel.WEB.value).inc()
    return received(request, receipt, REPORT_RECEIVED, question=False)


@routes.get("/ask")
async def ask_form(request: web.Request) -> web.Response:
    return render(request, "ask.html", form={})


async def _answer_feedback(request: web.Request, form: QuestionForm, *, helped: bool) -> None:
    """Count the reader's verdict on the answer shown (entry and language only)."""
    if form.entry is None or form.answer_lang is None:
        return
    services = request.app[SERVICES]
    await services.reporters.throttle.submission("feedback", await source_of(request))
    try:
        await services.answers.feedback(form.entry, form.answer_lang, helped)
    except NotFound:
        pass  # a stale page after the knowledge base changed: nothing to count


@routes.post("/ask")
async def ask_submit(request: web.Request) -> web.Response:
    """The knowledge base's answer if it has a good one; otherwise, or when the answer did
    not help, the question is filed like a tip and answered on the status page."""
    fields: dict[str, str] = {}
    try:
        submitted = await read_form(request)
        fields = submitted.fields
        form = QuestionForm.model_validate(fields)
        services = request.app[SERVICES]
        if form.action == "helped":
            await _answer_feedback(request, form, helped=True)
            return render(request, "ask.html", form={}, thanked=True)
        if form.action == "ask":
            matches = await services.answers.answer_if_allowed(
                form.text, hint=language(request), source=await source_of(request)
            )
            if matches:
                return render(request, "ask_answer.html", no_store=True, form=fields, matches=matches)
        else:
            await _answer_feedback(request, form, helped=False)
        receipt = await services.reporters.ask(form.text, source=await source_of(request))
    except (FormRefused, DomainError, ValidationError, web.HTTPClientError, DBAPIError) as exc:
        refused = refusal(exc)
        return render(
            request, "ask.html", status=refused.status, no_store=True, form=fields, problem=refused.problem
        )
    return received(request, receipt, ASK_RECEIVED, question=True)


@routes.get("/status")
async def status_form(request: web.Request) -> web.Response:
    return render(request, "status_form.html", no_store=True)


@routes.post("/status")
async def status_check(request: web.Request) -> web.Response:
    """Code and passphrase in, stage and conversation out; one answer for any wrong pair."""
    try:
        form = ReceiptForm.model_validate((await read_form(request)).fields)
        view = await request.app[SERVICES].reporters.status(
            form.receipt_code, form.passphrase, source=await source_of(request)
        )
    except (FormRefused, DomainError, ValidationError, web.HTTPClientError, DBAPIError) as exc:
        refused = refusal(exc)
        return render(
            request, "status_form.html", status=refused.status, no_store=True, problem=refused.problem
        )
    return render(
        request, "status.html", no_store=True, view=view, code=form.receipt_code, passphrase=form.passphrase
    )


@routes.post("/status/message")
async def status_message(request: web.Request) -> web.Response:
    """The reporter adds details or a photo; then the thread is shown again."""
    fields: dict[str, str] = {}
    reporters = request.app[SERVICES].reporters
    try:
        submitted = await read_form(request)
        fields = submitted.fields
        form = MessageForm.model_validate(fields)
        source = await source_of(request)
        await reporters.add_message(
            form.receipt_code, form.passphrase, form.text, submitted.files, source=source
        )
        view = await reporters.status(form.receipt_code, form.passphrase, source=source)
    except (FormRefused, DomainError, ValidationError, web.HTTPClientError, DBAPIError) as exc:
        refused = refusal(exc)
        if (
            refused.problem in ("not_found", "rate_limited", "csrf", "honeypot")
            or "receipt_code" not in fields
        ):
            return render(
                request, "status_form.html", status=refused.status, no_store=True, problem=refused.problem
            )
        try:
            view = await reporters.status(
                fields["receipt_code"], fields.get("passphrase", ""), source=await source_of(request)
            )
        except (DomainError, DBAPIError) as again:
            refused = refusal(again)
            return render(
                request, "status_form.html", status=refused.status, no_store=True, problem=refused.problem
            )
        return render(
            request,
            "status.html",
            status=refused.status,
            no_store=True,
            view=view,
            code=fields["receipt_code"],
            passphrase=fields.get("passphrase", ""),
            problem=refused.problem,
            reason=refused.reason,
            draft=fields.get("text", ""),
        )
    return render(
        request,
        "status.html",
        no_store=True,
        view=view,
        code=form.receipt_code,
        passphrase=form.passphrase,
        added=True,
    )


@routes.get("/lang/{lang}")
async def switch_language(request: web.Request) -> web.Response:
    """The visible language switch: a cookie, then back to the page (local pages only)."""
    lang = request.match_info["lang"]
    if lang not in LANGUAGES:
        raise web.HTTPNotFound(text="no such language")
    target = request.query.get("next", "/")
    response = web.Response(status=303, headers={"Location": target if target in PAGES else "/"})
    response.set_cookie(
        LANG_COOKIE,
        lang,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=is_https(request),
        path="/",
    )
    return response


def _wants_page(request: web.Request) -> bool:
    """Browsers get pages; the JSON API, the webhooks and the probes keep JSON."""
    path = request.path
    if path.startswith(("/api/", "/telegram", "/healthz", "/readyz", "/metrics", "/static/")):
        return False
    accept = request.headers.get("Accept", "")
    return "application/json" not in accept or "text/html" in accept


@web.middleware
async def html_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A friendly page in the visitor's language instead of a JSON error outside /api/:
    404 for a mistyped address, and for a failure on our side a page that says whether the
    report was stored and what to do now."""
    response = await handler(request)
    if response.status not in (404, 405) and response.status < 500:
        return response
    if response.content_type != "application/json" or not _wants_page(request):
        return response
    status = response.status
    if status >= 500:
        kind = "saved" if request.get(SAVED) else ("not_saved" if request.method == "POST" else "error")
    else:
        kind = "not_found"
    page = render(request, "error.html", status=status, no_store=True, kind=kind)
    for name in ("Retry-After", "Allow"):
        if name in response.headers:
            page.headers[name] = response.headers[name]
    return page
